"""The catalog of saved model versions: scores, gate verdicts and times in production."""

from __future__ import annotations

import json
from collections.abc import Callable

from riskwatch.catalog import catalog
from riskwatch.config import Settings
from riskwatch.storage.store import Store, deployments, promotions

OLD, NEW = "2026-01-01T10.00.00.000000Z", "2026-02-01T10.00.00.000000Z"


def saved(settings: Settings, version: str, rows: int, roc_auc: float) -> None:
    """A version folder with the metadata training writes (no model file: never read)."""
    folder = settings.output_model_path / version
    folder.mkdir(parents=True)
    metadata = {
        "created_at": version[:10] + "T10:00:00",
        "kind": "hgb",
        "training": {"rows": rows},
        "metrics": {"holdout": {"roc_auc": {"value": roc_auc}, "f1": {"value": 0.5}}},
    }
    (folder / "metadata.json").write_text(json.dumps(metadata))


def test_an_empty_workspace_says_how_to_save_a_version(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    with Store(settings.database_url) as store:
        found = catalog(settings, store)
    assert found.versions == [] and found.production is None
    assert found.text().startswith("No model version saved in ")
    assert "`riskwatch train` saves one" in found.text()


def test_versions_are_listed_newest_first_with_scores_gate_and_production_spans(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    saved(settings, OLD, 1500, 0.75)
    saved(settings, NEW, 3000, 0.74)
    (settings.output_model_path / "not-a-version").mkdir()
    settings.prod_deployment_path.mkdir(parents=True)
    pointer = {"version": OLD, "deployed_at": "2026-01-02", "reason": "manual"}
    (settings.prod_deployment_path / "deployment.json").write_text(json.dumps(pointer))
    with Store(settings.database_url) as store:
        for at, version in (("2026-01-02", OLD), ("2026-02-02", NEW), ("2026-02-03", OLD)):
            action = "rollback" if at == "2026-02-03" else "deploy"
            store.add(deployments, version=version, action=action, reason="", deployed_at=at)
        store.add(
            promotions,
            challenger=NEW,
            metric="roc_auc",
            margin=0.01,
            promoted=False,
            reason="no better by the margin",
            decided_at="2026-02-02",
        )
        found = catalog(settings, store)

    assert [v["version"] for v in found.versions] == [NEW, OLD]
    newest, oldest = found.versions
    assert (newest["in_production"], oldest["in_production"]) == (False, True)
    assert oldest["holdout"] == {"f1": 0.5, "roc_auc": 0.75}
    assert newest["gate"]["verdict"] == "not promoted"
    assert oldest["deployments"] == [
        {"from": "2026-01-02", "until": "2026-02-02", "action": "deploy"},
        {"from": "2026-02-03", "until": None, "action": "rollback"},
    ]
    text = found.text()
    assert text.startswith(f"In production: {OLD} since 2026-01-02 (manual)")
    assert f"* {OLD}" in text and f"  {NEW}" in text
    assert "    gate: not promoted: no better by the margin" in text
    assert "    in production 2026-02-03 to now (rollback)" in text
    assert "1,500" in text and "0.7500" in text
