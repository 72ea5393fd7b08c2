"""A loopback TCP relay that gives a read-ahead driver back-pressure.

connectorx decodes in its own thread and hands batches over an unbounded channel: when the
export is slower than the server (Parquet encoding of wide rows, `throttle_ms`), the driver
would read the whole result into memory. The relay sits between it and the server and decides
when the server's bytes may flow; TCP does the rest: when the relay stops reading, the driver's
reads block and the server waits on its socket (exactly as it does for the cursor reader's
unbuffered result).

Bytes flow while the export waits for a batch, and, with a read-ahead `window_rows`, also while
fewer than `window_rows` rows are forwarded beyond those the export has taken. Rows are
counted exactly: the relay follows the MySQL protocol's packet framing (a 4-byte header with
the payload length; each result row is one packet), and the parent reports the rows it took.
Counting packets rather than bytes is what keeps memory flat: an earlier window measured in
bytes against an estimate of bytes per row drifted, since wire bytes and Arrow bytes per row
differ, and grew with the rows. The few packets that are not rows (handshake, column
definitions) only make the window a constant few rows smaller. Without a window the driver
decodes ahead at most what the kernel's socket buffers hold plus the batch it is building,
and the relay does no parsing at all (narrow rows, where per-packet work would cost more
than overlap gains).

It runs as a small child process (this file, standard library only), because connectorx
holds the GIL while it waits for a batch: relay threads in the same interpreter would
starve exactly when they must forward. The parent writes "w" (waiting) / "d <rows taken>"
(done) lines to its stdin; the end of stdin (the parent closed it, or died) stops the relay.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import TypeVar

_CHUNK = 1024 * 1024
_MAX_SOCKET_PATH = 100  # sockaddr_un holds 104-108 bytes, by platform
T = TypeVar("T")


class FlowRelay:
    """The parent's handle: start the relay process, signal waiting, close."""

    def __init__(self, host: str, port: int, connect_timeout_s: float = 10.0,
                 window_rows: int = 0, window_bytes: int = 32 * 1024 * 1024,
                 unix_socket: bool = hasattr(socket, "AF_UNIX")):
        self._lock = threading.Lock()
        self._errors = ""
        self._taken = 0
        # The driver's side is a Unix socket where there is one: each byte crosses the kernel
        # twice on its way through the relay, and a Unix socket skips the TCP stack on one hop.
        self._dir = tempfile.mkdtemp(prefix="rivet-relay-") if unix_socket else None
        self.socket_path = os.path.join(self._dir, "s") if self._dir else None
        if self._dir and len(os.fsencode(self.socket_path)) > _MAX_SOCKET_PATH:
            shutil.rmtree(self._dir, ignore_errors=True)  # a long TMPDIR: loopback TCP then
            self._dir = self.socket_path = None
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", __file__, host, str(port), str(connect_timeout_s),
                 str(window_rows), str(window_bytes), self.socket_path or ""],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        except OSError:
            if self._dir:
                shutil.rmtree(self._dir, ignore_errors=True)
            raise
        assert self._proc.stdout is not None and self._proc.stdin is not None
        line = self._proc.stdout.readline().decode().strip()
        if not line.isdigit():
            self.close()
            raise OSError(f"the flow relay did not start: {line or self._errors[-300:]}")
        self.port = int(line)  # 0 when it listens on `socket_path`

    def connect(self, timeout_s: float = 5.0) -> socket.socket:
        """A client connection to the relay (what the driver does, for tests)."""
        if self.socket_path:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout_s)
            sock.connect(self.socket_path)
            return sock
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout_s)

    def fetch(self, read: Callable[[], T]) -> T:
        """Call `read` while the server's bytes may flow (the export waits for a batch).

        The rows of what `read` returns (its `num_rows`, if any) count as taken.
        """
        self._signal(b"w\n")
        try:
            result = read()
            self._taken += getattr(result, "num_rows", 0)
            return result
        finally:
            self._signal(b"d %d\n" % self._taken)

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
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)


class _Relay:
    """The child process: accept the driver, forward to the server, gate the server's bytes."""

    def __init__(self, host: str, port: int, connect_timeout_s: float, window_rows: int,
                 window_bytes: int, socket_path: str):
        self.target, self.timeout = (host, port), connect_timeout_s
        self.cond = threading.Condition()
        self.waiting, self.closed = 0, False
        # Read-ahead: rows (packets) forwarded beyond those taken, and their bytes.
        self.window, self.window_bytes = window_rows, window_bytes
        self.taken, self.total_bytes = 0, 0
        self.ends: collections.deque[int] = collections.deque()  # byte ends of untaken rows
        self.first_untaken, self.taken_bytes = 0, 0
        if socket_path:
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind(socket_path)
            self.listener.listen()
            self.port = 0
        else:
            self.listener = socket.create_server(("127.0.0.1", 0))
            self.port = self.listener.getsockname()[1]

    def control(self) -> None:
        """Read "w" (waiting) / "d <taken>" (done) lines from the parent until stdin closes."""
        for line in sys.stdin.buffer:
            with self.cond:
                if line.startswith(b"w"):
                    self.waiting += 1
                elif line.startswith(b"d"):
                    self.waiting = max(0, self.waiting - 1)
                    fields = line.split()
                    if len(fields) > 1:
                        self.taken = int(fields[1])
                        self.trim()
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
                if sock.family != getattr(socket, "AF_UNIX", None):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self.pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self.pump, args=(upstream, client, True), daemon=True).start()

    def pump(self, src: socket.socket, dst: socket.socket, gated: bool) -> None:
        buf = bytearray(_CHUNK)
        view = memoryview(buf)
        framing = PacketCounter() if gated and self.window else None
        try:
            while not gated or self.may_read():
                n = src.recv_into(buf)
                if not n:
                    break
                dst.sendall(view[:n])
                if framing is not None:
                    ends = framing.feed(buf, n)
                    with self.cond:
                        self.ends.extend(self.total_bytes + end for end in ends)
                        self.total_bytes += n
                        self.trim()
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def may_read(self) -> bool:
        with self.cond:
            while not self.closed and not self.waiting and (
                    not self.window or self.forwarded() >= self.taken + self.window
                    or self.total_bytes - self.taken_bytes >= self.window_bytes):
                self.cond.wait()
            return not self.closed

    def forwarded(self) -> int:
        """Rows (packets) forwarded so far: those taken and trimmed, plus those still ahead."""
        return self.first_untaken + len(self.ends)

    def trim(self) -> None:
        """Forget the byte ends of rows the export has taken (called holding `cond`)."""
        while self.ends and self.first_untaken < self.taken:
            self.taken_bytes = self.ends.popleft()
            self.first_untaken += 1


class PacketCounter:
    """Counts complete MySQL protocol packets in a byte stream fed in arbitrary pieces.

    A packet is a 3-byte little-endian payload length, a sequence byte, then the payload; a
    payload of 0xFFFFFF bytes continues in the next packet (one logical packet).
    """

    def __init__(self) -> None:
        self.header = bytearray()
        self.skip = 0  # payload bytes of the current packet still to pass
        self.continued = False

    def feed(self, data: bytes | bytearray, n: int) -> list[int]:
        """Where packets end among the first `n` bytes of `data` (continuing the last feed).

        The positions are offsets into `data` just past each packet completed here.
        """
        done: list[int] = []
        pos, skip, continued = 0, self.skip, self.continued
        while pos < n:
            if skip:  # the rest of a packet begun earlier
                step = min(skip, n - pos)
                skip -= step
                pos += step
                if not skip and not continued:
                    done.append(pos)
                continue
            if self.header or pos + 4 > n:  # a header split across feeds
                take = min(4 - len(self.header), n - pos)
                self.header += data[pos:pos + take]
                pos += take
                if len(self.header) < 4:
                    break
                length = self.header[0] | self.header[1] << 8 | self.header[2] << 16
                self.header.clear()
            else:
                length = data[pos] | data[pos + 1] << 8 | data[pos + 2] << 16
                pos += 4
            continued = length == 0xFFFFFF
            if pos + length <= n:  # the common case: the whole payload is here
                pos += length
                if not continued:
                    done.append(pos)
            else:
                skip = length
        self.skip, self.continued = skip, continued
        return done


def main(argv: list[str]) -> None:
    host, port, timeout = argv[0], int(argv[1]), float(argv[2])
    relay = _Relay(host, port, timeout, int(argv[3]), int(argv[4]), argv[5])
    threading.Thread(target=relay.accept, daemon=True).start()
    sys.stdout.write(f"{relay.port}\n")
    sys.stdout.flush()
    relay.control()  # returns when the parent closes stdin; daemon threads end with us


if __name__ == "__main__":
    main(sys.argv[1:])
