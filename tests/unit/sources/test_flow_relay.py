"""The back-pressure relay process on real loopback sockets (no database needed)."""

from __future__ import annotations

import socket
import threading

from rivet_dagster.sources.flow_relay import FlowRelay


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
    try:
        with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as client:
            client.sendall(b"hello")
            assert relay.fetch(lambda: client.recv(100)) == b"HELLO"
    finally:
        relay.close()
        server.close()
    assert relay.upstream_error() == ""


def test_an_unreachable_server_is_reported_after_close() -> None:
    port = _free_port()  # nothing listens there
    relay = FlowRelay("127.0.0.1", port, connect_timeout_s=2)
    with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as client:
        assert client.recv(10) == b""  # the relay hangs up on its side
    relay.close()
    assert f"cannot connect to 127.0.0.1:{port}" in relay.upstream_error()
