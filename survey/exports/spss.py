"""A small writer of uncompressed SPSS system files (``.sav``) that appends cases as they come.

pyreadstat writes a whole DataFrame at once; this writer writes the dictionary first and then
cases chunk by chunk, so an export holds one chunk of responses in memory, never the table.
It writes what the survey exports need and nothing more, following PSPP's description of the
format ("System File Format", https://www.gnu.org/software/pspp/pspp-dev/html_node/):

- the file header (``$FL2``, layout code 2, little-endian, no compression, bias 100), with the
  case count -1 ("unknown") until the end, then the real count when the file is seekable;
- one variable record (type 2) per variable, with its label and up to three discrete
  user-missing values, plus a continuation record for each further 8 bytes of a string;
- value labels (types 3 and 4) for numeric variables;
- machine integer and floating point info (type 7, subtypes 3 and 4), variable display
  parameters (subtype 11: measure, width, alignment), long variable names (subtype 13) and the
  character encoding (subtype 20, UTF-8); then the dictionary termination record (999);
- cases: a little-endian 8-byte float per numeric variable (system-missing for ``None``), and
  each string padded with spaces to a multiple of 8 bytes.

Strings are at most 255 bytes (no "very long string" segments), and a string variable's width
must be known before the first case: the caller gives it.
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from survey.exports.fixed_width import MONTHS, packed_rows, text_cell, utc_naive, utf8_prefix

SYSMIS = -sys.float_info.max
HIGHEST = sys.float_info.max
LOWEST = struct.unpack("<d", bytes.fromhex("feffffffffffefff"))[0]
MAX_STRING_WIDTH = 255
SPSS_EPOCH = datetime(1582, 10, 14)  # SPSS dates count seconds from the Gregorian calendar's start
FORMAT_CODES = {"A": 1, "F": 5, "DATETIME": 22}
MEASURES = {"unknown": 0, "nominal": 1, "ordinal": 2, "scale": 3}
CASE_COUNT_OFFSET = 80  # bytes before the header's ncases field
UTF8_CODE_PAGE = 65001


class SavFormatError(ValueError):
    """A variable or a value that an uncompressed SPSS file of this writer cannot hold."""


@dataclass(frozen=True)
class SavVariable:
    """One variable: ``width`` 0 is numeric, 1-255 a string of that many bytes.

    ``kind`` is ``"number"`` (format F8.2), ``"datetime"`` (DATETIME20; cases are ``datetime``
    objects in UTC) or ``"text"``. ``missing`` holds up to three discrete user-missing values.
    """

    name: str
    label: str = ""
    kind: str = "number"
    width: int = 0
    missing: tuple[float, ...] = ()
    value_labels: dict[float, str] = field(default_factory=dict)
    measure: str = "unknown"

    @property
    def slots(self) -> int:
        """How many 8-byte units the variable takes in a case."""
        return 1 if self.width == 0 else -(-self.width // 8)


def _check(variables: list[SavVariable]) -> None:
    names = [variable.name for variable in variables]
    if len(set(names)) != len(names):
        raise SavFormatError(f"variable names repeat: {names}")
    for variable in variables:
        if variable.kind not in ("number", "datetime", "text"):
            raise SavFormatError(f"variable {variable.name!r}: unknown kind {variable.kind!r}")
        if (variable.kind == "text") != (variable.width > 0):
            raise SavFormatError(f"variable {variable.name!r}: text needs a width, numbers none")
        if not 0 <= variable.width <= MAX_STRING_WIDTH:
            raise SavFormatError(f"variable {variable.name!r}: width {variable.width} not 0-255")
        if len(variable.missing) > 3 or (variable.missing and variable.width):
            raise SavFormatError(f"variable {variable.name!r}: up to 3 numeric missing values")
        if not 0 < len(variable.name.encode()) <= 64 or variable.measure not in MEASURES:
            raise SavFormatError(f"variable {variable.name!r}: bad name or measure")


def _format(variable: SavVariable) -> int:
    if variable.kind == "text":
        code, width, decimals = FORMAT_CODES["A"], variable.width, 0
    elif variable.kind == "datetime":
        code, width, decimals = FORMAT_CODES["DATETIME"], 20, 0
    else:
        code, width, decimals = FORMAT_CODES["F"], 8, 2
    return code << 16 | width << 8 | decimals


def spss_datetime(moment: datetime | None) -> float | None:
    """Seconds since 14 October 1582, SPSS's date origin; aware times are taken in UTC.

    Examples
    --------
    >>> spss_datetime(datetime(1582, 10, 15))
    86400.0
    """
    if moment is None:
        return None
    return (utc_naive(moment) - SPSS_EPOCH).total_seconds()


class SavWriter:
    """Write an SPSS system file to an open binary file: the dictionary, then cases as they come.

    Parameters
    ----------
    out : binary file
        Where to write; when it is seekable, ``close`` writes the case count into the header.
    variables : list of SavVariable
        The variables in file order.
    file_label : str
        Up to 64 bytes of label for the file.
    now : datetime, optional
        The creation time written into the header (the current time if not given).

    Examples
    --------
    >>> import io
    >>> out = io.BytesIO()
    >>> writer = SavWriter(out, [SavVariable("score", label="Score")], file_label="demo")
    >>> writer.write_cases([[1.0], [None]])
    >>> writer.close()
    >>> out.getvalue()[:4], writer.cases
    (b'$FL2', 2)
    """

    def __init__(
        self,
        out: BinaryIO,
        variables: list[SavVariable],
        *,
        file_label: str = "",
        now: datetime | None = None,
    ):
        _check(variables)
        self._out = out
        self._variables = variables
        self._start = out.tell() if out.seekable() else None
        self._case = struct.Struct(
            "<" + "".join("d" if v.width == 0 else f"{v.slots * 8}s" for v in variables)
        )
        self._converters = [self._converter(variable) for variable in variables]
        self.cases = 0
        out.write(self._dictionary(file_label, now or datetime.now()))

    @staticmethod
    def _converter(variable: SavVariable):
        if variable.kind == "text":
            size = variable.slots * 8
            text = text_cell(variable.name, variable.width, SavFormatError)
            # SPSS pads strings with spaces; struct would pad them with NULs
            return lambda value: text(value).ljust(size, b" ")
        if variable.kind == "datetime":
            return lambda value: SYSMIS if value is None else spss_datetime(value)
        return lambda value: SYSMIS if value is None else float(value)

    def write_cases(self, rows) -> None:
        """Append cases; each row holds one value per variable (``None`` for missing)."""
        blocks = packed_rows(self._case, self._converters, rows)
        self._out.write(b"".join(blocks))
        self.cases += len(blocks)

    def close(self) -> None:
        """Write the case count into the header if the file can seek; the caller closes it."""
        if self._start is None:
            return
        end = self._out.tell()
        self._out.seek(self._start + CASE_COUNT_OFFSET)
        self._out.write(struct.pack("<i", self.cases))
        self._out.seek(end)

    def _dictionary(self, file_label: str, now: datetime) -> bytes:
        return b"".join(
            [
                self._header(file_label, now),
                *(self._variable_record(index, v) for index, v in enumerate(self._variables)),
                *self._value_label_records(),
                self._machine_info(),
                self._display_parameters(),
                self._long_names(),
                self._extension(20, 1, b"UTF-8"),
                struct.pack("<ii", 999, 0),
            ]
        )

    def _header(self, file_label: str, now: datetime) -> bytes:
        product = b"@(#) SPSS DATA FILE healing-survey".ljust(60, b" ")
        slots = sum(variable.slots for variable in self._variables)
        return (
            b"$FL2"
            + product
            + struct.pack("<iiiiid", 2, slots, 0, 0, -1, 100.0)
            + f"{now.day:02d} {MONTHS[now.month - 1]} {now.year % 100:02d}".encode()
            + now.strftime("%H:%M:%S").encode()
            + utf8_prefix(file_label, 64).ljust(64, b" ")
            + b"\0\0\0"
        )

    @staticmethod
    def _short_name(index: int) -> bytes:
        return f"V{index + 1}".encode().ljust(8, b" ")

    def _variable_record(self, index: int, variable: SavVariable) -> bytes:
        label = utf8_prefix(variable.label, 255)
        fmt = _format(variable)
        record = struct.pack(
            "<iiiiii", 2, variable.width, 1 if label else 0, len(variable.missing), fmt, fmt
        )
        record += self._short_name(index)
        if label:
            record += struct.pack("<i", len(label)) + label.ljust(-(-len(label) // 4) * 4, b" ")
        record += b"".join(struct.pack("<d", value) for value in variable.missing)
        continuation = struct.pack("<iiiiii", 2, -1, 0, 0, 0, 0) + b" " * 8
        return record + continuation * (variable.slots - 1)

    def _value_label_records(self) -> list[bytes]:
        records = []
        slot = 1  # type 4 records name variables by their 1-based position among the slots
        for variable in self._variables:
            if variable.value_labels:
                labels = struct.pack("<ii", 3, len(variable.value_labels))
                for value, text in variable.value_labels.items():
                    data = utf8_prefix(text, 120)
                    labels += struct.pack("<dB", float(value), len(data)) + data
                    labels += b" " * (-(len(data) + 1) % 8)
                records += [labels, struct.pack("<iii", 4, 1, slot)]
            slot += variable.slots
        return records

    @staticmethod
    def _extension(subtype: int, size: int, data: bytes) -> bytes:
        return struct.pack("<iiii", 7, subtype, size, len(data) // size) + data

    def _machine_info(self) -> bytes:
        # version 1.0.0, machine code -1, IEEE 754 floats, compression 1, little-endian, UTF-8
        integers = struct.pack("<8i", 1, 0, 0, -1, 1, 1, 2, UTF8_CODE_PAGE)
        floats = struct.pack("<3d", SYSMIS, HIGHEST, LOWEST)
        return self._extension(3, 4, integers) + self._extension(4, 8, floats)

    def _display_parameters(self) -> bytes:
        data = b"".join(
            struct.pack("<3i", MEASURES[v.measure], 8, 0 if v.width else 1) for v in self._variables
        )
        return self._extension(11, 4, data)

    def _long_names(self) -> bytes:
        pairs = [
            self._short_name(index).rstrip() + b"=" + variable.name.encode()
            for index, variable in enumerate(self._variables)
        ]
        return self._extension(13, 1, b"\t".join(pairs))
