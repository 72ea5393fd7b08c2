"""One Parquet file out of several encoded apart: their column chunks in order, one footer.

Why: pyarrow's writer encodes a file's row groups one after another on the thread that calls
it (its `use_threads` for writing is not exposed in Python). To encode row groups on several
threads, each is written as a small Parquet file of its own in memory (`pq.write_table`
releases the GIL); the part is those files' column chunks one after another, and a footer
listing all their row groups. Column chunks are self-contained (pages, dictionary,
statistics), so only the footer needs work: the byte offsets in each row group move by where
its chunks land, and the row groups are numbered again. The result is byte for byte the file
pyarrow writes sequentially (tested), so readers see no difference.

The footer is Thrift's compact protocol (parquet-format's `FileMetaData`). It is walked, not
decoded: the walk notes where the row groups and the offsets in them lie, and the merged footer
is the first file's bytes with the row-group list and the row count replaced, every byte the
walk did not name copied as it was. Fields this module has never heard of therefore survive
unchanged, and the walk allocates next to no Python objects (decoding into lists made the
garbage collector a tenth of an export's main thread). Files with page indexes, bloom filters
or encrypted column metadata keep bytes elsewhere that would have to move too: the walk
refuses them with `UnsupportedFooter` (the writer never asks for them).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

MAGIC = b"PAR1"

# Thrift compact protocol types.
TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(1, 13)

# parquet-format field ids: FileMetaData, RowGroup, ColumnChunk, ColumnMetaData.
FMD_NUM_ROWS, FMD_ROW_GROUPS = 3, 4
RG_COLUMNS, RG_FILE_OFFSET, RG_ORDINAL = 1, 5, 7
CC_FILE_OFFSET, CC_META, CC_OFFSET_INDEX, CC_COLUMN_INDEX = 2, 3, 4, 6
CMD_OFFSETS = (9, 10, 11)  # data_page_offset, index_page_offset, dictionary_page_offset
CMD_BLOOM_FILTER = 14

OFFSET, ORDINAL = 0, 1  # what a patch replaces


class UnsupportedFooter(ValueError):
    """A footer whose file keeps bytes outside its chunks (page indexes, bloom filters) or
    hides its column metadata (encryption)."""


def _varint(n: int, out: bytearray) -> None:
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _zigzag(n: int) -> bytearray:
    out = bytearray()
    _varint((n << 1) ^ (n >> 63), out)
    return out


class _Walk:
    """A cursor over compact-protocol bytes that skips values instead of building them."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def byte(self) -> int:
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def fields(self) -> Iterator[tuple[int, int]]:
        """The (id, type) of each field of the struct the cursor is at, up to its end; the
        caller reads or skips each field's value before asking for the next."""
        last = 0
        while head := self.byte():
            delta = head >> 4
            last = last + delta if delta else self.zigzag()
            yield last, head & 0x0F

    def list_head(self) -> tuple[int, int]:
        head = self.byte()
        size = head >> 4
        return (self.varint() if size == 15 else size), head & 0x0F

    def skip(self, ctype: int, in_field: bool = True) -> None:
        if ctype in (TRUE, FALSE):
            if not in_field:  # a bool inside a container is a byte; a field's is its type
                self.pos += 1
        elif ctype == BYTE:
            self.pos += 1
        elif ctype in (I16, I32, I64):
            self.varint()
        elif ctype == DOUBLE:
            self.pos += 8
        elif ctype == BINARY:
            size = self.varint()
            self.pos += size
        elif ctype in (LIST, SET):
            size, elem = self.list_head()
            for _ in range(size):
                self.skip(elem, in_field=False)
        elif ctype == MAP:
            size = self.varint()
            if size:
                kinds = self.byte()
                for _ in range(size):
                    self.skip(kinds >> 4, in_field=False)
                    self.skip(kinds & 0x0F, in_field=False)
        elif ctype == STRUCT:
            for _fid, ftype in self.fields():
                self.skip(ftype)
        else:
            raise ValueError(f"unknown Thrift compact type {ctype} in a Parquet footer")
        if self.pos > len(self.data):
            raise ValueError("truncated Parquet footer")

    def patch(self, kind: int, patches: list[tuple[int, int, int, int]]) -> None:
        start = self.pos
        value = self.zigzag()
        patches.append((start, self.pos, kind, value))


@dataclass(frozen=True)
class RowGroupSpan:
    """Where one row group's struct lies in a footer, and the values to change in it."""

    start: int
    end: int
    patches: tuple[tuple[int, int, int, int], ...]  # (start, end, OFFSET | ORDINAL, value)


def _column_chunk(walk: _Walk, patches: list[tuple[int, int, int, int]]) -> None:
    has_meta = False
    for fid, ctype in walk.fields():
        if fid == CC_FILE_OFFSET and ctype == I64:
            walk.patch(OFFSET, patches)
        elif fid == CC_META and ctype == STRUCT:
            has_meta = True
            for mid, mtype in walk.fields():
                if mid in CMD_OFFSETS and mtype == I64:
                    walk.patch(OFFSET, patches)
                elif mid == CMD_BLOOM_FILTER:
                    raise UnsupportedFooter("bloom filters are not merged")
                else:
                    walk.skip(mtype)
        elif fid in (CC_OFFSET_INDEX, CC_COLUMN_INDEX):
            raise UnsupportedFooter("page indexes are not merged")
        else:
            walk.skip(ctype)
    if not has_meta:
        raise UnsupportedFooter("encrypted column metadata is not merged")


def _row_group(walk: _Walk) -> RowGroupSpan:
    start, patches = walk.pos, []
    for fid, ctype in walk.fields():
        if fid == RG_COLUMNS and ctype == LIST:
            size, _elem = walk.list_head()
            for _ in range(size):
                _column_chunk(walk, patches)
        elif fid == RG_FILE_OFFSET and ctype == I64:
            walk.patch(OFFSET, patches)
        elif fid == RG_ORDINAL and ctype == I16:
            walk.patch(ORDINAL, patches)
        else:
            walk.skip(ctype)
    return RowGroupSpan(start, walk.pos, tuple(patches))


@dataclass(frozen=True)
class EncodedFile:
    """One Parquet file encoded in memory: its chunks' bytes and the map of its footer."""

    data: memoryview  # the whole file (kept alive: `chunks` is a view into it)
    footer: bytes
    chunks_end: int  # the chunks are data[4:chunks_end]
    rows_span: tuple[int, int]  # FileMetaData.num_rows' value in `footer`
    groups_span: tuple[int, int]  # FileMetaData.row_groups' value (list head included)
    groups: tuple[RowGroupSpan, ...]

    @classmethod
    def parse(cls, data: object) -> "EncodedFile":
        view = memoryview(data)  # type: ignore[arg-type]
        if view.format != "B":  # a pyarrow Buffer's view has format 'b' (signed)
            view = view.cast("B")
        if len(view) < 12 or view[:4] != MAGIC or view[-4:] != MAGIC:
            raise ValueError("not a Parquet file")
        length = struct.unpack("<I", view[-8:-4])[0]
        start = len(view) - 8 - length
        footer = bytes(view[start:len(view) - 8])
        walk = _Walk(footer)
        rows_span = groups_span = (-1, -1)
        groups: list[RowGroupSpan] = []
        for fid, ctype in walk.fields():
            begin = walk.pos
            if fid == FMD_ROW_GROUPS and ctype == LIST:
                size, _elem = walk.list_head()
                groups = [_row_group(walk) for _ in range(size)]
                groups_span = (begin, walk.pos)
            else:
                walk.skip(ctype)
                if fid == FMD_NUM_ROWS:
                    rows_span = (begin, walk.pos)
        if rows_span[0] < 0 or groups_span[0] < 0:
            raise UnsupportedFooter("the footer has no row count or no row-group list")
        return cls(view, footer, start, rows_span, groups_span, tuple(groups))

    @property
    def chunks(self) -> memoryview:
        return self.data[len(MAGIC):self.chunks_end]


def moved_row_groups(encoded: EncodedFile, chunks_at: int, first_ordinal: int) -> list[bytes]:
    """The file's row groups as they read once its chunks start at byte `chunks_at` of the
    merged file and its first row group is number `first_ordinal`. An offset of zero stays:
    no chunk starts before the magic, so a zero is an unset offset (Arrow writes the
    deprecated `ColumnChunk.file_offset` as 0)."""
    delta = chunks_at - len(MAGIC)
    footer, out = encoded.footer, []
    for n, group in enumerate(encoded.groups):
        moved, pos = bytearray(), group.start
        for start, end, kind, value in group.patches:
            moved += footer[pos:start]
            if kind == ORDINAL:
                moved += _zigzag(first_ordinal + n)
            else:
                moved += _zigzag(value + delta if value else value)
            pos = end
        moved += footer[pos:group.end]
        out.append(bytes(moved))
    return out


def merged_footer(first: EncodedFile, row_groups: list[bytes], rows: int) -> bytes:
    """The merged file's footer: `first`'s (schema, key-value metadata, created_by, column
    orders) with every row group and the total row count; its length and the magic follow."""
    head = bytearray()
    size = len(row_groups)
    if size < 15:
        head.append(size << 4 | STRUCT)
    else:
        head.append(0xF0 | STRUCT)
        _varint(size, head)
    replacements = sorted([(first.rows_span, bytes(_zigzag(rows))),
                           (first.groups_span, bytes(head) + b"".join(row_groups))])
    body, pos = bytearray(), 0
    for (start, end), value in replacements:
        body += first.footer[pos:start]
        body += value
        pos = end
    body += first.footer[pos:]
    return bytes(body) + struct.pack("<I", len(body)) + MAGIC
