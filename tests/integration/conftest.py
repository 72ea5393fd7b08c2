import pytest

from tests.integration.db_fixtures import temp_mysql_database, temp_pg_database


@pytest.fixture(scope="module")
def pg_url():
    with temp_pg_database() as url:
        yield url


@pytest.fixture(scope="module")
def mysql_url():
    with temp_mysql_database() as url:
        yield url
