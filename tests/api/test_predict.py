"""The prediction answer written client by client is the document JSONResponse renders."""

from __future__ import annotations

import math

import pytest
from fastapi.responses import JSONResponse

from riskwatch.api.predict import Predictions

IDS = ["c1", 'quote " and \\ backslash', "tab\tnew\nline\x01", "Zürich 東京 🙂", "</script>"]
HEAD = {"version": "20261130T000000Z", "threshold": 0.5, "dataset": "testdata.csv"}


def predictions(words: list[list[str]] | None) -> Predictions:
    probabilities = [0.123457, 1e-06, 0.5, 1.0, 0.0]
    labels = [0, 0, 1, 1, 0]
    bands = ["low", "low", "medium", "high", "low"]
    return Predictions(IDS, probabilities, labels, bands, words)


@pytest.mark.parametrize("with_reasons", [True, False])
def test_the_answer_document_is_byte_for_byte_what_json_response_renders(
    with_reasons: bool,
) -> None:
    words = [['a "quoted" reason'], [], ["low activity", "a small company"], [], ["é"]]
    found = predictions(words if with_reasons else None)
    expected = JSONResponse({**HEAD, "clients": found.answers()}).body
    assert found.document(HEAD) == expected
    assert (
        found.document({**HEAD, "dataset": None})
        == JSONResponse({**HEAD, "dataset": None, "clients": found.answers()}).body
    )


def test_a_probability_that_is_not_a_number_is_refused_as_json_response_refuses_it() -> None:
    found = predictions(None)
    found.probabilities[1] = math.nan
    with pytest.raises(ValueError, match="JSON"):
        found.document(HEAD)
