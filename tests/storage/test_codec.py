"""Values as the database holds them: watermarks keep their type, JSON columns are stable text."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from riskwatch.storage.codec import decode_watermark, encode_batch, encode_row, encode_watermark


@pytest.mark.parametrize(
    "value",
    [None, 41, "2026-11-01", datetime(2026, 11, 30, 3, 4, 5, tzinfo=UTC), datetime(2026, 1, 2)],
)
def test_a_watermark_comes_back_with_its_type(value: object) -> None:
    assert decode_watermark(encode_watermark(value)) == value


def test_a_numpy_watermark_comes_back_as_a_plain_number() -> None:
    found = decode_watermark(encode_watermark(np.int64(7)))
    assert (found, type(found)) == (7, int)


def test_batch_values_hold_missing_counts_and_watermarks_as_text() -> None:
    encoded = encode_batch({"missing_values": {"b": 2, "a": 1}, "watermark_high": 9, "rows": 3})
    assert encoded == {"missing_values": '{"a": 1, "b": 2}', "watermark_high": "9", "rows": 3}


def test_only_json_columns_of_a_row_are_encoded() -> None:
    encoded = encode_row({"result": {"z": 1, "a": [1, 2]}, "kind": "timings"})
    assert encoded == {"result": '{"a": [1, 2], "z": 1}', "kind": "timings"}
