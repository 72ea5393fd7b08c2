"""HashingSink (stdout parts): the stream gets every byte at once, in order; the hash covers them all."""

import io

import xxhash

from rivet_dagster.destinations.base import HashingSink


def test_hash_and_stream_match_every_write_even_buffers_reused_by_the_caller() -> None:
    out = io.BytesIO()
    sink = HashingSink(out)
    expected = xxhash.xxh3_128()
    reused = bytearray(4096)
    for i in range(200):
        if i % 2:
            chunk = bytes([i % 256]) * (1000 + i)
            sink.write(chunk)
        else:
            reused[:] = bytes([i % 256]) * 4096
            sink.write(memoryview(reused))  # the caller changes it right after
            chunk = bytes(reused)
        expected.update(chunk)
        assert out.getbuffer().nbytes == sink.tell()  # the stream already has it
    whole = f"xxh3_128:{xxhash.xxh3_128_hexdigest(out.getvalue())}"
    assert sink.content_hash() == f"xxh3_128:{expected.hexdigest()}" == whole
    assert sink.content_hash() == whole  # asking twice is fine
    sink.write(b"more")
    assert sink.content_hash() == f"xxh3_128:{xxhash.xxh3_128_hexdigest(out.getvalue())}" != whole
    assert sink.size == len(out.getvalue())


def test_a_discarded_sink_drops_later_writes() -> None:
    out = io.BytesIO()
    sink = HashingSink(out)
    sink.write(b"x" * 10_000)
    before = sink.content_hash()
    sink.discard()
    assert sink.write(b"dropped") == 7
    assert out.getvalue() == b"x" * 10_000 and sink.content_hash() == before
