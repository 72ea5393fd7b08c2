"""MariaDB over TLS against a real TLS-only server (dev/services.sh mytls): every reader.

The server runs with `require_secure_transport`, so a read that succeeds went over TLS; the
export's own query reads `Ssl_cipher` from the server's side of the reading connection.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest

import rivet_dagster.sources.mysql  # noqa: F401,I001  (loads the C extension before pyarrow)
from rivet_dagster.config.source import SourceConfig
from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources.base import ReadRequest
from rivet_dagster.sources.mysql import MySQLBatchStream, MySQLSource
from rivet_dagster.sources.mysql_arrow import READER_ENV

PORT = int(os.environ.get("MYTLS_PORT", "23306"))
CERTS = Path(os.environ.get("EMU_DIR", "/tmp/rivet-dagster-services")) / "mytls" / "certs"
SQL = ("SELECT seq AS id, (SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS "
       "WHERE VARIABLE_NAME = 'Ssl_cipher') AS cipher FROM seq_1_to_3000")


@pytest.fixture(scope="module", autouse=True)
def tls_server(start_service):
    start_service("mytls")
    assert (CERTS / "ca.crt").is_file()


def _source(tls: dict, host: str = "127.0.0.1") -> MySQLSource:
    return MySQLSource(SourceConfig(type="mysql", url=f"mysql://rivet@{host}:{PORT}/rivet_tls",
                                    tls=tls))


def _read(source: MySQLSource) -> tuple[MySQLBatchStream, pa.Table]:
    stream = source.open(ReadRequest(sql=SQL, batch_size=1000, export="e"))
    return stream, pa.Table.from_batches(list(stream), schema=stream.schema)


@pytest.mark.parametrize("reader", ["native", "cursor"])
@pytest.mark.parametrize("tls", [{"mode": "require"},
                                 {"mode": "verify-ca", "ca_file": str(CERTS / "ca.crt")},
                                 {"mode": "verify-full", "ca_file": str(CERTS / "ca.crt")}],
                         ids=["require", "verify-ca", "verify-full"])
def test_every_reader_reads_over_tls(monkeypatch, reader, tls) -> None:
    monkeypatch.setenv(READER_ENV, reader)
    stream, table = _read(_source(tls))
    assert isinstance(stream, MySQLBatchStream) and stream.reader == reader
    assert table.column("id").to_pylist() == list(range(1, 3001))
    ciphers = set(table.column("cipher").to_pylist())
    assert len(ciphers) == 1 and ciphers.pop().startswith("TLS")


def test_the_metadata_connection_over_tls_sends_without_delay() -> None:
    """Nagle off on the TLS socket too (see test_mysql_source: the PREPARE-close stall)."""
    import socket

    side = _source({"mode": "verify-ca", "ca_file": str(CERTS / "ca.crt")})._connect(pure=True)
    try:
        sock = side.conn._socket.sock
        assert type(sock).__name__ == "SSLSocket" and side.uses_tls()
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        side.conn.close()


def test_the_arrow_reader_refuses_tls_and_auto_reads_natively(monkeypatch) -> None:
    monkeypatch.setenv(READER_ENV, "arrow")
    with pytest.raises(RivetSourceError, match="the connection uses TLS"):
        _read(_source({"mode": "require"}))
    monkeypatch.setenv(READER_ENV, "auto")
    stream, table = _read(_source({"mode": "require"}))
    assert stream.reader == "native" and table.num_rows == 3000


def test_an_unknown_certificate_authority_is_one_clear_error(tmp_path) -> None:
    other = tmp_path / "other-ca.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=not-the-ca", "-keyout", str(tmp_path / "k"), "-out", str(other)],
                   check=True, capture_output=True)
    with pytest.raises(RivetSourceError, match="cannot connect") as err:
        _read(_source({"mode": "verify-ca", "ca_file": str(other)}))
    assert err.value.export == "e" and "\n" not in str(err.value)


def test_plaintext_is_refused_with_one_clear_error() -> None:
    with pytest.raises(RivetSourceError, match="cannot connect") as err:
        _read(_source({"mode": "disable"}))
    assert err.value.export == "e" and "\n" not in str(err.value)
