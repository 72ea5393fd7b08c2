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


@pytest.fixture(params=["postgres", "mysql"])
def engine_url(request, pg_url, mysql_url):
    """(engine, url): the test runs once per engine, each against its throwaway database."""
    return request.param, (pg_url if request.param == "postgres" else mysql_url)
