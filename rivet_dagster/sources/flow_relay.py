"""A loopback TCP relay that gives a read-ahead driver back-pressure.

connectorx decodes in its own thread and hands batches over an unbounded channel: when the
export is slower than the server (Parquet encoding of wide rows, `throttle_ms`), the driver
would read the whole result into memory. The relay sits between it and the server and
forwards the server's bytes only while the export is waiting for a batch. Once a batch is
handed over the relay stops reading; TCP does the rest: the driver's reads block, the server
waits on its socket (exactly as it does for the cursor reader's unbuffered result), and what
the driver can decode ahead is bounded by the kernel's socket buffers (a few MB, outside the
process) plus the batch it is building. No estimate of bytes per row is involved: an earlier
version that let a byte "window" run ahead of the batches taken drifted, because wire bytes
and Arrow bytes per row differ, and grew with the rows.

It runs as a small child process (this file, standard library only), because connectorx
holds the GIL while it waits for a batch: relay threads in the same interpreter would
starve exactly when they must forward. The parent writes "w" / "d <bytes>" lines to its
stdin; the end of stdin (the parent closed it, or died) stops the relay.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

_CHUNK = 1024 * 1024
T = TypeVar("T")


class FlowRelay:
    """The parent's handle: start the relay process, signal waiting, close."""

    def __init__(self, host: str, port: int, connect_timeout_s: float = 10.0):
        self._lock = threading.Lock()
        self._errors = ""
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", __file__, host, str(port), str(connect_timeout_s)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        assert self._proc.stdout is not None and self._proc.stdin is not None
        line = self._proc.stdout.readline().decode().strip()
        if not line.isdigit():
            self.close()
            raise OSError(f"the flow relay did not start: {line or self._errors[-300:]}")
        self.port = int(line)

    def fetch(self, read: Callable[[], T]) -> T:
        """Call `read` while the server's bytes may flow (the export waits for a batch)."""
        self._signal(b"w\n")
        try:
            return read()
        finally:
            self._signal(b"d\n")

    def upstream_error(self) -> str:
        """What the relay could not connect to, if anything (known once it is closed)."""
        return self._errors

    def _signal(self, byte: bytes) -> None:
        with self._lock, contextlib.suppress(OSError, ValueError):
            assert self._proc.stdin is not None
            self._proc.stdin.write(byte)

    def close(self) -> None:
        with self._lock, contextlib.suppress(OSError, ValueError):
            assert self._proc.stdin is not None
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stderr is not None and not self._proc.stderr.closed:
            self._errors = self._proc.stderr.read().decode(errors="replace").strip()
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()


class _Relay:
    """The child process: accept on 127.0.0.1, forward to the server, gate server bytes."""

    def __init__(self, host: str, port: int, connect_timeout_s: float):
        self.target, self.timeout = (host, port), connect_timeout_s
        self.cond = threading.Condition()
        self.waiting, self.closed = 0, False
        self.listener = socket.create_server(("127.0.0.1", 0))

    def control(self) -> None:
        """Read "w" (waiting) / "d" (done) lines from the parent until it closes stdin."""
        for line in sys.stdin.buffer:
            with self.cond:
                if line.startswith(b"w"):
                    self.waiting += 1
                elif line.startswith(b"d"):
                    self.waiting = max(0, self.waiting - 1)
                self.cond.notify_all()
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        with contextlib.suppress(OSError):
            self.listener.close()

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=self.timeout)
                upstream.settimeout(None)
            except OSError as exc:
                print(f"cannot connect to {self.target[0]}:{self.target[1]}: {exc}",
                      file=sys.stderr, flush=True)
                client.close()
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self.pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self.pump, args=(upstream, client, True), daemon=True).start()

    def pump(self, src: socket.socket, dst: socket.socket, gated: bool) -> None:
        buf = bytearray(_CHUNK)
        view = memoryview(buf)
        try:
            while not gated or self.may_read():
                n = src.recv_into(buf)
                if not n:
                    break
                dst.sendall(view[:n])
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def may_read(self) -> bool:
        with self.cond:
            while not self.closed and not self.waiting:
                self.cond.wait()
            return not self.closed


def main(argv: list[str]) -> None:
    host, port, timeout = argv[0], int(argv[1]), float(argv[2])
    relay = _Relay(host, port, timeout)
    threading.Thread(target=relay.accept, daemon=True).start()
    sys.stdout.write(f"{relay.listener.getsockname()[1]}\n")
    sys.stdout.flush()
    relay.control()  # returns when the parent closes stdin; daemon threads end with us


if __name__ == "__main__":
    main(sys.argv[1:])
