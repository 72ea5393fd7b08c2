"""The back-pressure relay process on real loopback sockets (no database needed)."""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading

import pytest

from rivet_dagster.sources.flow_relay import FlowRelay, PacketCounter


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_forwards_both_ways_while_the_export_waits() -> None:
    server = socket.create_server(("127.0.0.1", 0))

    def echo() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(conn.recv(100).upper())

    threading.Thread(target=echo, daemon=True).start()
    relay = FlowRelay("127.0.0.1", server.getsockname()[1])
    assert relay.socket_path is not None  # the driver's side is a Unix socket here
    try:
        with relay.connect() as client:
            client.sendall(b"hello")
            assert relay.fetch(lambda: client.recv(100)) == b"HELLO"
    finally:
        relay.close()
        server.close()
    assert relay.upstream_error() == ""
    assert not os.path.exists(os.path.dirname(relay.socket_path))  # its folder is gone


def test_an_unreachable_server_is_reported_after_close() -> None:
    port = _free_port()  # nothing listens there
    relay = FlowRelay("127.0.0.1", port, connect_timeout_s=2)
    with relay.connect() as client:
        assert client.recv(10) == b""  # the relay hangs up on its side
    relay.close()
    assert f"cannot connect to 127.0.0.1:{port}" in relay.upstream_error()


def _packets(payloads: list[int]) -> bytes:
    """A MySQL packet stream: each payload length as a 3-byte header plus a sequence byte."""
    out = bytearray()
    for seq, size in enumerate(payloads):
        out += size.to_bytes(3, "little") + bytes([seq % 256]) + b"x" * size
    return bytes(out)


def test_packet_counter_finds_every_packet_end_however_the_bytes_are_split() -> None:
    def ends(stream: bytes, piece: int) -> list[int]:
        counter, found = PacketCounter(), []
        for start in range(0, len(stream), piece):
            chunk = stream[start:start + piece]
            found += [start + end for end in counter.feed(chunk, len(chunk))]
        return found

    def expected(sizes: list[int]) -> list[int]:
        out, at = [], 0
        for size in sizes:
            at += 4 + size
            out.append(at)
        return out

    small = [0, 1, 3, 4, 5, 700, 10, 2, 0]
    for piece in (1, 2, 3, 4, 5, 7, 4096, 1 << 20):
        assert ends(_packets(small), piece) == expected(small), piece
    # a 0xFFFFFF-byte payload continues in the next packet: 4 physical packets, 3 logical
    sizes = [5, 0xFFFFFF, 10, 2]
    logical = expected(sizes)
    del logical[1]
    for piece in (4093, 1 << 20):  # odd: headers split at varied places
        assert ends(_packets(sizes), piece) == logical, piece


class _Batch:
    def __init__(self, num_rows: int):
        self.num_rows = num_rows


def _drain(sock: socket.socket, wait_s: float = 0.5) -> int:
    """Bytes readable from `sock` within `wait_s` of quiet."""
    got = 0
    sock.settimeout(wait_s)
    try:
        while data := sock.recv(1 << 20):
            got += len(data)
    except TimeoutError:
        pass
    return got


@pytest.mark.parametrize("limit", ["rows", "bytes"])
def test_the_window_lets_rows_flow_ahead_of_those_taken_and_no_further(limit: str) -> None:
    size, total, window = 64 * 1024, 400, 40   # 26 MB of 64 KB rows; a 1 MB chunk is 16 rows
    # the same window of 40 rows, set by its row count or by its bytes
    rows, bytes_ = (window, 1 << 40) if limit == "rows" else (10 * total, window * (size + 4))
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = server.accept()
        with conn, contextlib.suppress(OSError):
            conn.sendall(_packets([size] * total))

    threading.Thread(target=serve, daemon=True).start()
    relay = FlowRelay("127.0.0.1", server.getsockname()[1], window_rows=rows,
                      window_bytes=bytes_)
    try:
        with relay.connect() as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            got = _drain(client)
            # the window, plus what one relay chunk and the sockets in between may hold
            assert window <= got // (size + 4) <= window + 16 + 48, got
            relay.fetch(lambda: _Batch(100))  # the export took 100 rows
            got += _drain(client)
            assert window + 100 <= got // (size + 4) <= window + 100 + 16 + 48, got
    finally:
        relay.close()
        server.close()


def test_a_temporary_folder_too_long_for_a_unix_socket_falls_back_to_tcp(tmp_path, monkeypatch):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    server = socket.create_server(("127.0.0.1", 0))
    relay = FlowRelay("127.0.0.1", server.getsockname()[1])
    try:
        assert relay.socket_path is None and relay.port > 0
        with relay.connect():
            pass
    finally:
        relay.close()
        server.close()
    assert list(deep.iterdir()) == []  # its folder was removed
