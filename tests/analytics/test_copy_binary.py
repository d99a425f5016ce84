"""The rollup build's binary COPY encoder reads back exactly what it was given."""
import json
from datetime import date, datetime, timezone
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection

from analytics.copy_binary import (INT8, NUMERIC, VARCHAR, NUMERIC_DIGITS, Rows, array_field, element_records, field,
                                   int8_field, numeric_digits)

pytestmark = pytest.mark.django_db

# (whole, millionths, millionths of millionths) sums, with carries, and the value they make.
MONEY = [((0, 0, 0), Decimal("0")),
         ((0, 0, 1), Decimal("0.000000000001")),
         ((3, 2_500_000, 1_750_000), Decimal("5.500001750000")),
         ((123456, 0, 999_999), Decimal("123456.000000999999")),
         ((99_999_999_999_999, 999_999, 999_999), Decimal("99999999999999.999999999999")),
         ((7, 999_999, 1_000_000), Decimal("8.000000000000"))]


def test_rows_of_every_kind_read_back_exactly():
    n = len(MONEY)
    whole, micro, pico = (np.array([m[0][i] for m in MONEY], dtype=np.int64) for i in range(3))
    at = datetime(2026, 11, 28, 13, 30, 15, 123456, tzinfo=timezone.utc)
    unix_us = int(at.timestamp()) * 1_000_000 + at.microsecond
    users = [["ü-1", "b"], [], ["only"], ["x", "y", "z"], [], ["naïve"]]
    rows = Rows(n)
    rows.int8("i", np.arange(n, dtype=np.int64) - 2)
    rows.int4("small", np.arange(n, dtype=np.int64) * 7)
    rows.float8("f", np.linspace(-1.5, 1e12, n))
    rows.timestamptz("at", np.full(n, unix_us, dtype=np.int64))
    rows.date("day", np.full(n, date(2026, 2, 28).toordinal(), dtype=np.int64))
    rows.numeric("money", whole, micro, pico)
    rows.encoded(["name", "maybe"], [field(f"n{i}\t\\".encode()) + (field(None) if i % 2 else int8_field(i))
                                     for i in range(n)])
    rows.jsonb("doc", ['{"z": 3, "-17": 1}'] * n)
    flat = [u for row in users for u in row]
    requests = element_records(">i8", 8, np.arange(len(flat), dtype=np.int64))
    cost = element_records(NUMERIC_DIGITS, 24, numeric_digits(np.arange(len(flat), dtype=np.int64),
                                                        np.zeros(len(flat), dtype=np.int64),
                                                        np.ones(len(flat), dtype=np.int64)))
    pieces, k = [], 0
    for row in users:
        a, b = k, k + len(row)
        pieces.append(array_field(VARCHAR, b - a, b"".join(field(u.encode()) for u in row))
                      + array_field(INT8, b - a, requests[12 * a:12 * b])
                      + array_field(NUMERIC, b - a, cost[28 * a:28 * b]))
        k = b
    rows.encoded(["names", "counts", "costs"], pieces)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE copied (account_id bigint, i bigint, small integer, f double precision, "
                       "at timestamptz, day date, money numeric(30, 12), name varchar(20), maybe bigint, doc jsonb, "
                       "names varchar(200)[], counts bigint[], costs numeric(30, 12)[])")
        rows.copy(cursor.cursor, "copied", 42)
        cursor.execute("SELECT account_id, i, small, f, at, day, money, name, maybe, doc, names, counts, costs "
                       "FROM copied ORDER BY i")
        got = cursor.fetchall()
    k = 0
    for i, row in enumerate(got):
        assert row[:7] == (42, i - 2, i * 7, np.linspace(-1.5, 1e12, n)[i], at, date(2026, 2, 28), MONEY[i][1])
        assert row[7:9] == (f"n{i}\t\\", None if i % 2 else i)
        assert json.loads(row[9]) == {"z": 3, "-17": 1}  # Django leaves jsonb undecoded on raw cursors
        assert row[10] == users[i]
        assert row[11] == list(range(k, k + len(users[i])))
        assert row[12] == [Decimal(j) + Decimal("0.000000000001") for j in range(k, k + len(users[i]))]
        k += len(users[i])
