"""Whom to call first: ranking by expected loss (risk times a client's value) as well as by risk."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from riskwatch.calllist.build import build_call_list, publish_call_list
from riskwatch.calllist.published import COLUMNS
from riskwatch.calllist.value import client_values
from riskwatch.config import ConfigError, load_settings
from riskwatch.config_expression import FEATURES as ALLOWED
from riskwatch.errors import RiskwatchError
from riskwatch.schema import FEATURES
from riskwatch.storage.store import Store

from ..conftest import Workspace

CLIENTS = pd.DataFrame(
    {
        "corporation": ["a", "b", "c"],
        "lastmonth_activity": [10, 0, 5],
        "lastyear_activity": [1200, 0, 60],
        "number_of_employees": [4, 0, 300],
    }
)


def test_a_value_is_a_column_or_arithmetic_over_the_client_columns() -> None:
    assert client_values("lastyear_activity", CLIENTS).tolist() == [1200, 0, 60]
    found = client_values("lastyear_activity / 12 + 2 * number_of_employees", CLIENTS)
    assert found.tolist() == [108, 0, 605]
    assert client_values("(lastmonth_activity)", CLIENTS).tolist() == [10, 0, 5]
    # A division by zero is no value, not an error.
    assert client_values("lastyear_activity / lastmonth_activity", CLIENTS).tolist() == [
        120,
        0,
        12,
    ]


def test_the_value_may_use_exactly_the_feature_columns() -> None:
    assert ALLOWED == FEATURES


@pytest.mark.parametrize(
    ("expression", "said"),
    [
        ("revenue", "may use only the client columns"),
        ("corporation", "may use only the client columns"),
        ("__import__('os').system('true')", "may use only"),
        ("lastyear_activity ** 2", "is not allowed"),
        ("lastyear_activity.sum()", "is not allowed"),
        ("lastyear_activity if 1 else 0", "is not allowed"),
        ("'text'", "is not allowed"),
        ("lastyear_activity +", "is not an arithmetic expression"),
        ("", "must name a client column"),
    ],
)
def test_anything_else_is_refused_with_the_setting_named(
    tmp_path: Path, expression: str, said: str
) -> None:
    config = tmp_path / "riskwatch.toml"
    config.write_text(f"call_list_rank_by = 'value'\ncall_list_value = {expression!r}\n")
    with pytest.raises(ConfigError, match="key 'call_list_value'") as refused:
        load_settings(config, env={})
    assert said in str(refused.value)
    with pytest.raises(RiskwatchError, match="setting call_list_value"):
        client_values(expression, CLIENTS)


def test_by_default_the_list_is_ranked_by_risk_without_value_columns(ws: Workspace) -> None:
    assert (ws.settings.call_list_rank_by, ws.settings.call_list_value) == (
        "risk",
        "lastyear_activity",
    )
    with Store(ws.settings.database_url) as store:
        found = build_call_list(ws.settings, store)
    assert "value" not in found.frame.columns
    assert "value" not in found.to_dict()["top"][0]


def test_ranked_by_value_the_largest_expected_loss_comes_first(ws: Workspace) -> None:
    settings = dataclasses.replace(ws.settings, call_list_rank_by="value")
    with Store(settings.database_url) as store:
        by_risk = build_call_list(ws.settings, store)
        found = publish_call_list(settings, store, build_call_list(settings, store))
    frame = found.frame
    assert frame["expected_loss"].is_monotonic_decreasing
    # The risk shown is rounded to 4 decimals and the loss to 2: at most half a unit of each apart.
    apart = (frame["expected_loss"] - frame["probability"] * frame["value"]).abs()
    assert (apart <= frame["value"] * 0.00005 + 0.005 + 1e-9).all()
    assert set(frame["corporation"]) != set(by_risk.frame["corporation"])
    written = pd.read_csv(settings.reports_path / "calllist.csv", dtype={"corporation": str})
    # The classic columns first, as before; value and expected loss after them.
    assert list(written.columns)[: len(COLUMNS)] == COLUMNS
    assert list(written.columns)[-2:] == ["value", "expected_loss"]
    top = found.to_dict()["top"][0]
    assert top["expected_loss"] == pytest.approx(float(frame["expected_loss"].iloc[0]))
    assert top["value"] == pytest.approx(float(frame["value"].iloc[0]))
