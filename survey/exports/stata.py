"""A small writer of Stata 118 ``.dta`` files (Stata 14 and later) that appends rows as they come.

pyreadstat writes a whole DataFrame at once; this writer writes the descriptors first and then
rows chunk by chunk, so an export holds one chunk of responses in memory, never the table. It
writes what the survey exports need and nothing more, following Stata's description of the
format ("dta file format", https://www.stata.com/help.cgi?dta), release 118:

- ``<header>``: release 118, byte order LSF (little-endian), the number of variables K (2
  bytes) and of rows N (8 bytes), the data label and a time stamp;
- ``<map>``: the byte offset of each section (14 offsets of 8 bytes);
- per variable: its storage type (``double``, ``long`` or ``str#`` of 1-2045 bytes), name,
  display format, value label name and label; an empty sort list and no characteristics;
- ``<data>``: rows of fixed width, every value little-endian; missing numbers are Stata's
  system missing ``.`` or the extended missing values ``.a``-``.z``; strings padded with NULs;
- ``<value_labels>``: one table per labelled variable (integer values to labels).

A row's width is fixed, so every offset after the data follows from the number of rows: the
writer writes the header with N = 0 and, at ``close``, patches N and the last four map entries
when the file can seek; for a stream that cannot, give ``rows`` up front. Value labels are
written by ``close`` after the last row. Variables are named and labelled as pyreadstat does
(display formats ``%10.0g``, ``%12.0g``, ``%tc``, ``%-9s``; label sets named after their
variable and its position among the labelled ones), so its files read back like pyreadstat's.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from survey.exports.fixed_width import MONTHS, packed_rows, text_cell, utc_naive, utf8_prefix

MAX_STRING_WIDTH = 2045  # str# up to str2045; longer texts need strL, which this writer omits
MAX_VARIABLES = 32767  # release 118 stores K in 2 bytes
MAX_LABEL_CHARS = 80  # data and variable labels: 80 characters of UTF-8 in 321-byte fields
STATA_EPOCH = datetime(1960, 1, 1)  # %tc counts milliseconds from 1 January 1960
LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Missing values: "." then ".a" to ".z" in order; the largest valid long is 2,147,483,620.
DOUBLE_MISSING = [struct.pack("<Q", 0x7FE0000000000000 + (i << 40)) for i in range(27)]
LONG_MISSING = [2147483621 + i for i in range(27)]
LONG_RANGE = (-2147483647, 2147483620)
TYPE_CODES = {"number": 65526, "datetime": 65526, "integer": 65528}  # double, double, long
FORMATS = {"number": "%10.0g", "datetime": "%tc", "integer": "%12.0g", "text": "%-9s"}
NAME_SIZE, FORMAT_SIZE, LABEL_SIZE = 129, 57, 321
MAP_ENTRIES = 14


class DtaFormatError(ValueError):
    """A variable or a value that a Stata file of this writer cannot hold."""


@dataclass(frozen=True)
class DtaVariable:
    """One variable of a ``.dta`` file.

    ``kind`` is ``"number"`` (a double), ``"integer"`` (a 4-byte long, for coded answers),
    ``"datetime"`` (a double in ``%tc``: ``datetime`` cells, aware ones taken in UTC) or
    ``"text"`` (``str#`` of ``width`` bytes of UTF-8, 1-2045). A numeric cell may be ``None``
    (system missing ``.``) or a letter ``"a"``-``"z"`` (the extended missing value ``.a``-``.z``).
    ``value_labels`` maps integer values to labels.
    """

    name: str
    label: str = ""
    kind: str = "number"
    width: int = 0
    value_labels: dict[int, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """How many bytes the variable takes in a row."""
        return {"number": 8, "datetime": 8, "integer": 4}.get(self.kind, self.width)


def _check(variables: list[DtaVariable]) -> None:
    names = [variable.name for variable in variables]
    if len(set(names)) != len(names) or not 0 < len(names) <= MAX_VARIABLES:
        raise DtaFormatError(f"variable names repeat or too many variables: {names}")
    for variable in variables:
        if variable.kind not in FORMATS:
            raise DtaFormatError(f"variable {variable.name!r}: unknown kind {variable.kind!r}")
        if (variable.kind == "text") != (variable.width > 0):
            raise DtaFormatError(f"variable {variable.name!r}: text needs a width, numbers none")
        if variable.width > MAX_STRING_WIDTH:
            raise DtaFormatError(f"variable {variable.name!r}: width {variable.width} not 1-2045")
        if not variable.name.isidentifier() or len(variable.name) > 32:
            raise DtaFormatError(f"variable {variable.name!r}: not a Stata name")
        if variable.value_labels and variable.kind != "integer":
            raise DtaFormatError(f"variable {variable.name!r}: value labels need integers")


def _fixed(text: str, size: int) -> bytes:
    """``text`` in UTF-8, cut without splitting a character, NUL-padded to ``size`` bytes."""
    return utf8_prefix(text, size - 1).ljust(size, b"\0")


def _label(text: str) -> bytes:
    return _fixed(text[:MAX_LABEL_CHARS], LABEL_SIZE)


def stata_clock(moment: datetime) -> float:
    """Milliseconds since 1 January 1960, Stata's ``%tc``; aware times are taken in UTC.

    Examples
    --------
    >>> stata_clock(datetime(1960, 1, 2, 0, 0, 1))
    86401000.0
    """
    delta = utc_naive(moment) - STATA_EPOCH
    return float((delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000)


class DtaWriter:
    """Write a Stata 118 file to an open binary file: descriptors, then rows as they come.

    Parameters
    ----------
    out : binary file
        Where to write; when it is seekable, ``close`` writes the row count into the header.
    variables : list of DtaVariable
        The variables in file order.
    file_label : str
        Up to 80 characters of label for the data set.
    rows : int, optional
        The number of rows that will be written, for a file that cannot seek (``close`` checks).
    now : datetime, optional
        The time stamp written into the header (the current time if not given).

    Examples
    --------
    >>> import io
    >>> out = io.BytesIO()
    >>> writer = DtaWriter(out, [DtaVariable("score", kind="integer")], file_label="demo")
    >>> writer.write_rows([[1], ["a"], [None]])
    >>> writer.close()
    >>> out.getvalue()[:31], writer.rows
    (b'<stata_dta><header><release>118', 3)
    """

    def __init__(
        self,
        out: BinaryIO,
        variables: list[DtaVariable],
        *,
        file_label: str = "",
        rows: int | None = None,
        now: datetime | None = None,
    ):
        _check(variables)
        self._start = out.tell() if out.seekable() else None
        if self._start is None and rows is None:
            raise DtaFormatError("a file that cannot seek needs the number of rows up front")
        self._out = out
        self._variables = variables
        self._declared = rows
        self._row = struct.Struct(
            "<"
            + "".join(
                {4: "i", 8: "d"}[v.size] if v.kind != "text" else f"{v.size}s" for v in variables
            )
        )
        self._converters = [self._converter(variable) for variable in variables]
        self._label_names = self._name_label_sets()
        self.rows = 0
        head, self._offsets = self._descriptors(file_label, now or datetime.now(), rows or 0)
        self._n_at = head.index(b"<N>") + 3
        out.write(head)

    @staticmethod
    def _converter(variable: DtaVariable):
        name = variable.name
        if variable.kind == "text":
            return text_cell(name, variable.width, DtaFormatError)
        if variable.kind == "integer":
            low, high = LONG_RANGE

            def integer(value) -> int:
                if value is None:
                    return LONG_MISSING[0]
                if isinstance(value, str):
                    return LONG_MISSING[LETTERS.index(value) + 1]
                if not low <= value <= high:
                    raise DtaFormatError(f"variable {name!r}: {value!r} is out of range")
                return int(value)

            return integer
        missing = [struct.unpack("<d", m)[0] for m in DOUBLE_MISSING]
        to_float = stata_clock if variable.kind == "datetime" else float

        def number(value) -> float:
            if value is None:
                return missing[0]
            if isinstance(value, str):
                return missing[LETTERS.index(value) + 1]
            return to_float(value)

        return number

    def write_rows(self, rows) -> None:
        """Append rows; each holds one value per variable (``None`` for system missing)."""
        blocks = packed_rows(self._row, self._converters, rows)
        self._out.write(b"".join(blocks))
        self.rows += len(blocks)

    def close(self) -> None:
        """Write the value labels and the end, then the row count and the map's last offsets
        if the file can seek; the caller closes the file."""
        if self._declared is not None and self._declared != self.rows:
            raise DtaFormatError(f"{self.rows} rows written, {self._declared} declared")
        data_end = self._offsets[9] + len(b"<data>") + self.rows * self._row.size
        tail = b"</data><strls></strls>"
        labels = b"<value_labels>" + b"".join(self._label_tables()) + b"</value_labels>"
        offsets = [data_end + len(b"</data>")]
        offsets.append(offsets[0] + len(b"<strls></strls>"))
        offsets.append(offsets[1] + len(labels))
        offsets.append(offsets[2] + len(b"</stata_dta>"))
        self._out.write(tail + labels + b"</stata_dta>")
        if self._start is None:
            return
        end = self._out.tell()
        self._out.seek(self._start + self._n_at)
        self._out.write(struct.pack("<Q", self.rows))
        self._out.seek(self._start + self._offsets[1] + len(b"<map>") + 10 * 8)
        self._out.write(struct.pack("<4Q", *offsets))
        self._out.seek(end)

    def _name_label_sets(self) -> list[str]:
        """Each variable's label set: its name and its position among the labelled variables."""
        names, position = [], 0
        for variable in self._variables:
            if variable.value_labels:
                names.append(f"{variable.name}{position}")
                position += 1
            else:
                names.append("")
        return names

    def _descriptors(self, file_label: str, now: datetime, rows: int):
        """The file up to ``<data>`` and the offsets of its map (the last four for ``rows``)."""
        variables = self._variables
        label_bytes = utf8_prefix(file_label[:MAX_LABEL_CHARS], LABEL_SIZE - 1)
        stamp = f"{now.day:02d} {MONTHS[now.month - 1]} {now.year:04d} {now:%H:%M}".encode()
        header = (
            b"<stata_dta><header><release>118</release><byteorder>LSF</byteorder>"
            + b"<K>"
            + struct.pack("<H", len(variables))
            + b"</K><N>"
            + struct.pack("<Q", rows)
            + b"</N><label>"
            + struct.pack("<H", len(label_bytes))
            + label_bytes
            + b"</label><timestamp>"
            + struct.pack("<B", len(stamp))
            + stamp
            + b"</timestamp></header>"
        )
        sections = [
            ("variable_types", b"".join(struct.pack("<H", self._type(v)) for v in variables)),
            ("varnames", b"".join(_fixed(v.name, NAME_SIZE) for v in variables)),
            ("sortlist", bytes(2 * (len(variables) + 1))),
            ("formats", b"".join(_fixed(FORMATS[v.kind], FORMAT_SIZE) for v in variables)),
            ("value_label_names", b"".join(_fixed(n, NAME_SIZE) for n in self._label_names)),
            ("variable_labels", b"".join(_label(v.label) for v in variables)),
            ("characteristics", b""),
        ]
        map_size = len(b"<map></map>") + MAP_ENTRIES * 8
        offsets = [0, len(header)]
        position = len(header) + map_size
        body = []
        for name, content in sections:
            offsets.append(position)
            part = f"<{name}>".encode() + content + f"</{name}>".encode()
            body.append(part)
            position += len(part)
        offsets.append(position)  # <data>
        data_end = position + len(b"<data>") + rows * self._row.size + len(b"</data>")
        labels = sum(map(len, self._label_tables())) + len(b"<value_labels></value_labels>")
        strls = len(b"<strls></strls>")
        offsets += [data_end, data_end + strls, data_end + strls + labels]
        offsets.append(offsets[-1] + len(b"</stata_dta>"))
        mapping = b"<map>" + struct.pack(f"<{MAP_ENTRIES}Q", *offsets) + b"</map>"
        return header + mapping + b"".join(body) + b"<data>", offsets

    @staticmethod
    def _type(variable: DtaVariable) -> int:
        return variable.width if variable.kind == "text" else TYPE_CODES[variable.kind]

    def _label_tables(self) -> list[bytes]:
        """One ``<lbl>`` table per labelled variable: values ascending, NUL-ended texts."""
        tables = []
        for variable, name in zip(self._variables, self._label_names, strict=True):
            if not variable.value_labels:
                continue
            pairs = sorted(variable.value_labels.items())
            texts = [_fixed(text, len(text.encode()) + 1) for _, text in pairs]
            starts = [sum(map(len, texts[:i])) for i in range(len(texts))]
            table = struct.pack(
                f"<ii{len(pairs)}i{len(pairs)}i",
                len(pairs),
                sum(map(len, texts)),
                *starts,
                *(value for value, _ in pairs),
            ) + b"".join(texts)
            entry = struct.pack("<i", len(table)) + _fixed(name, NAME_SIZE) + bytes(3) + table
            tables.append(b"<lbl>" + entry + b"</lbl>")
        return tables
