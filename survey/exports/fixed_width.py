"""What the SPSS and Stata writers share: rows of fixed width packed with ``struct``, texts cut
to a number of UTF-8 bytes, and times read in UTC."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def utc_naive(moment: datetime) -> datetime:
    """``moment`` as a naive time in UTC: an aware time is converted, a naive one is kept."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def utf8_prefix(text: str, limit: int) -> bytes:
    """``text`` in UTF-8, cut to ``limit`` bytes without splitting a character."""
    return text.encode()[:limit].decode(errors="ignore").encode()


def text_cell(name: str, width: int, error: type[ValueError]) -> Callable[[object], bytes]:
    """A converter of a text cell to its UTF-8 bytes (``None`` as empty) that raises ``error``
    naming variable ``name`` for a text longer than ``width`` bytes."""

    def text(value) -> bytes:
        data = ("" if value is None else str(value)).encode()
        if len(data) > width:
            raise error(f"variable {name!r}: {value!r} is longer than {width} bytes")
        return data

    return text


def packed_rows(
    row: struct.Struct, converters: list[Callable], rows: Iterable[list]
) -> list[bytes]:
    """Each row's cells through their converters, packed as one fixed-width block."""
    pack = row.pack
    return [
        pack(*[convert(value) for convert, value in zip(converters, cells, strict=True)])
        for cells in rows
    ]
