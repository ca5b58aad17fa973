"""The report's plain words: counts with their nouns, lists in a sentence, metric names."""

from __future__ import annotations

from riskwatch.reporting.words import PLAIN, count, join, metric_name
from riskwatch.schema import FEATURES


def test_a_count_takes_the_singular_for_one_and_the_plural_otherwise() -> None:
    assert count(1, "batch", "batches") == "1 batch"
    assert count(2, "batch", "batches") == "2 batches"
    assert count(0, "row") == "0 rows"
    assert count(12_345, "client") == "12,345 clients"


def test_words_join_with_commas_and_a_final_and() -> None:
    assert join(["size"]) == "size"
    assert join(["size", "activity"]) == "size and activity"
    assert join(["a", "b", "c"]) == "a, b and c"


def test_metrics_are_named_as_the_report_writes_them_and_unknown_ones_kept() -> None:
    assert metric_name("roc_auc") == "ROC AUC"
    assert metric_name("brier") == "Brier score"
    assert metric_name("something_new") == "something_new"


def test_every_feature_and_the_predicted_risk_have_plain_names() -> None:
    assert set(PLAIN) == {*FEATURES, "predicted_risk"}
