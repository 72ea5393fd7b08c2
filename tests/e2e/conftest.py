from tests.integration.conftest import mysql_url, pg_url  # noqa: F401  (shared fixtures)
