"""PostgreSQL over TLS, both readers, against a real TLS-only server (dev/services.sh pgtls).

The server refuses plaintext (`hostnossl ... reject`), so a read that succeeds went over TLS;
`pg_stat_ssl` confirms it from the server's side.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rivet_dagster.config.source import SourceConfig
from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources.base import ReadRequest
from rivet_dagster.sources.postgres import PostgresSource
from rivet_dagster.sources.postgres_copy import READER_ENV

PORT = int(os.environ.get("PGTLS_PORT", "25440"))
CA = Path(os.environ.get("EMU_DIR", "/tmp/rivet-dagster-services")) / "pgtls" / "certs" / "ca.crt"
SQL = ("SELECT g AS id, s.ssl, s.version FROM generate_series(1, 3) g, pg_stat_ssl s "
       "WHERE s.pid = pg_backend_pid()")


@pytest.fixture(scope="module", autouse=True)
def tls_server(start_service):
    start_service("pgtls")
    assert CA.is_file()


def _source(tls: dict) -> PostgresSource:
    return PostgresSource(SourceConfig(
        type="postgres", url=f"postgresql://postgres@localhost:{PORT}/postgres", tls=tls))


@pytest.mark.parametrize("reader, kind", [("auto", "PostgresNativeCopyStream"),
                                          ("copy", "PostgresCopyStream"),
                                          ("cursor", "PostgresBatchStream")])
@pytest.mark.parametrize("tls", [{"mode": "require"}, {"mode": "verify-ca", "ca_file": str(CA)},
                                 {"mode": "verify-full", "ca_file": str(CA)}],
                         ids=["require", "verify-ca", "verify-full"])
def test_every_reader_reads_over_tls(monkeypatch, reader, kind, tls):
    monkeypatch.setenv(READER_ENV, reader)
    stream = _source(tls).open(ReadRequest(sql=SQL, export="e"))
    assert type(stream).__name__ == kind
    rows = [row for batch in stream for row in batch.to_pylist()]
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert all(r["ssl"] is True and r["version"].startswith("TLS") for r in rows)


def test_an_unknown_certificate_authority_is_one_clear_error():
    with pytest.raises(RivetSourceError, match="cannot connect") as err:
        _source({"mode": "verify-full"}).open(ReadRequest(sql=SQL, export="e"))
    assert err.value.export == "e" and err.value.field == "source"
    assert "certificate" in str(err.value) and "\n" not in str(err.value)


def test_plaintext_is_refused_with_one_clear_error():
    with pytest.raises(RivetSourceError, match="cannot connect") as err:
        _source({"mode": "disable"}).open(ReadRequest(sql=SQL, export="e"))
    assert "pg_hba.conf" in str(err.value) and err.value.field == "source"
