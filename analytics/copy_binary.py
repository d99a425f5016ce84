"""Rows for COPY … FROM STDIN (FORMAT binary), encoded a column at a time with numpy.

The fixed-width columns of every row form one numpy record each (field length, value),
so a thousand rows cost a few array operations; variable-width columns (text, jsonb,
arrays) come pre-encoded per row and are joined after them. Column order is the order
of the calls, fixed-width ones before the others (`columns` is COPY's column list).

Money is numeric(30, 12): whole units, millionths and millionths of millionths, summed as
integers, become eight base-10000 digits (five whole, three fractional) with scale 12;
PostgreSQL strips the zero digits on input.
"""
import struct
from datetime import date
from itertools import chain

import numpy as np

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
PG_EPOCH_DAY = date(2000, 1, 1).toordinal()
PG_EPOCH_US = 946_684_800_000_000  # binary timestamps count µs from 2000-01-01 UTC
VARCHAR, INT4, INT8, NUMERIC = 1043, 23, 20, 1700
NUMERIC_DIGITS = (">i2", (12,))  # ndigits, weight, sign, dscale, 8 digits


def numeric_digits(whole, micro, pico):
    """The numeric binary value (12 int16) of whole + micro/10^6 + pico/10^12, per element."""
    micro = micro + pico // 1_000_000
    pico = pico % 1_000_000
    whole = whole + micro // 1_000_000
    fraction = micro % 1_000_000 * 1_000_000 + pico
    out = np.empty((len(whole), 12), dtype=np.int64)
    out[:, 0], out[:, 1], out[:, 2], out[:, 3] = 8, 4, 0, 12
    for i in range(5):
        out[:, 4 + i] = whole // 10 ** (4 * (4 - i)) % 10_000
    out[:, 9], out[:, 10], out[:, 11] = fraction // 10 ** 8, fraction // 10 ** 4 % 10_000, fraction % 10_000
    return out


class Rows:
    def __init__(self, n):
        self.n = n
        self._fixed_names, self._var_names, self._fixed, self._var = [], [], [], []

    @property
    def columns(self):
        return [*self._fixed_names, *self._var_names]

    def _add(self, name, dtype, width, values):
        self._fixed_names.append(name)
        self._fixed.append((dtype, width, values))

    def int4(self, name, values):
        self._add(name, ">i4", 4, values)

    def int8(self, name, values):
        self._add(name, ">i8", 8, values)

    def float8(self, name, values):
        self._add(name, ">f8", 8, values)

    def timestamptz(self, name, unix_us):
        self._add(name, ">i8", 8, unix_us - PG_EPOCH_US)

    def date(self, name, ordinals):
        self._add(name, ">i4", 4, ordinals - PG_EPOCH_DAY)

    def numeric(self, name, whole, micro, pico):
        self._add(name, NUMERIC_DIGITS, 24, numeric_digits(whole, micro, pico))

    def encoded(self, names, pieces):
        """Columns whose fields each row brings already encoded (length prefixes included)."""
        self._var_names.extend(names)
        self._var.append(pieces)

    def jsonb(self, name, texts):
        self.encoded([name], [_jsonb(t) for t in texts])

    def encode(self) -> bytes:
        record = [("count", ">i2")]
        for i, (dtype, _, _) in enumerate(self._fixed):
            record += [(f"n{i}", ">i4"), (f"v{i}", dtype)]
        block = np.empty(self.n, dtype=record)
        block["count"] = len(self.columns)
        for i, (_, width, values) in enumerate(self._fixed):
            block[f"n{i}"] = width
            block[f"v{i}"] = values
        raw, width = block.tobytes(), block.itemsize
        if not self._var:
            return SIGNATURE + raw + TRAILER
        rows = [raw[i:i + width] for i in range(0, len(raw), width)]
        return SIGNATURE + b"".join(chain.from_iterable(zip(rows, *self._var))) + TRAILER

    def copy(self, cursor, table, account_id):
        """COPY the rows into table, every row with the account's id."""
        self.int8("account_id", np.full(self.n, account_id, dtype=np.int64))
        with cursor.copy(f"COPY {table} ({', '.join(self.columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(self.encode())


def field(value: bytes | None) -> bytes:
    return b"\xff\xff\xff\xff" if value is None else struct.pack(">i", len(value)) + value


def int8_field(value) -> bytes:
    return struct.pack(">iq", 8, value)


def _jsonb(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">ib", len(data) + 1, 1) + data


def array_field(element_oid: int, count: int, elements: bytes) -> bytes:
    """A one-dimensional array field of `count` encoded elements (no NULLs)."""
    if not count:
        return struct.pack(">iiii", 12, 0, 0, element_oid)
    header = struct.pack(">iiiii", 1, 0, element_oid, count, 1)
    return struct.pack(">i", len(header) + len(elements)) + header + elements


def element_records(dtype, width, values) -> bytes:
    """Elements of fixed width, each with its length: the body of an array, all rows at once."""
    records = np.empty(len(values), dtype=[("n", ">i4"), ("v", dtype)])
    records["n"] = width
    records["v"] = values
    return records.tobytes()
