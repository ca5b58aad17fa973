"""The cycles page and the overview say how many labelled rows a judgement left out, and why."""

from __future__ import annotations

from riskwatch.webapp.ledger import evidence

PERFORMANCE = {"evidence": "No evidence the score dropped.", "decision": "keep"}


def test_the_evaluate_steps_evidence_names_the_rows_left_out() -> None:
    detail = {"performance": PERFORMANCE, "excluded": {"rows": 212, "clients": 200}}
    found = evidence("evaluate", detail)
    assert found[0] == "No evidence the score dropped."
    assert found[1].startswith("212 labelled rows (200 clients) were left out: a manager")


def test_with_nobody_contacted_the_evidence_says_so_and_an_old_record_says_nothing() -> None:
    nobody = evidence("evaluate", {"performance": PERFORMANCE, "excluded": {"rows": 0}})
    assert nobody[1] == "No labelled client was contacted before its outcome was known."
    assert evidence("evaluate", {"performance": PERFORMANCE}) == [PERFORMANCE["evidence"]]
