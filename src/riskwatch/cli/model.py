"""Commands about the model: train, score, deploy, rollback, status, models, calllist."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from riskwatch.cli.common import (
    EXIT_LOCKED,
    EXIT_OK,
    emit,
    positive_int,
    scipy_special_first,
    settings_of,
)
from riskwatch.storage import open_store

log = logging.getLogger(__name__)

# Each command imports its step inside the function: scikit-learn and pandas cost a second
# to import, and commands such as `riskwatch ingest` with nothing new must stay fast.
# ruff: noqa: PLC0415


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register the model commands."""
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="print the result as JSON")
    parents = [common, json_flag]
    commands.add_parser(
        "train", parents=parents, help="train a model on the master dataset; save a new version"
    ).set_defaults(command=_train)
    score = commands.add_parser(
        "score", parents=parents, help="score the deployed model (or a version) on labelled data"
    )
    score.add_argument("--data", type=Path, help="labelled file or folder (default: the holdout)")
    score.add_argument("--version", dest="model_version", help="model version to score")
    score.set_defaults(command=_score)
    deploy = commands.add_parser(
        "deploy", parents=parents, help="make a version (default: the newest) the production model"
    )
    deploy.add_argument("version", nargs="?", help="model version (default: the newest)")
    deploy.add_argument(
        "--gate", action="store_true", help="deploy only if it beats production (gate settings)"
    )
    deploy.add_argument(
        "--force",
        action="store_true",
        help="deploy even a model that ranks no better than chance (the record says so)",
    )
    deploy.set_defaults(command=_deploy)
    rollback = commands.add_parser(
        "rollback", parents=parents, help="return production to the previous (or a named) version"
    )
    rollback.add_argument("version", nargs="?", help="model version (default: the previous one)")
    rollback.set_defaults(command=_rollback)
    commands.add_parser(
        "status", parents=parents, help="what is deployed, since when, with what scores"
    ).set_defaults(command=_status)
    commands.add_parser(
        "models",
        parents=parents,
        help="list the saved model versions: training rows, holdout scores, gate verdicts, "
        "when each was in production",
    ).set_defaults(command=_models)
    calllist = commands.add_parser(
        "calllist",
        parents=parents,
        help="rank clients by risk with reasons (a look: writes nothing unless --publish)",
    )
    calllist.add_argument("--top", type=positive_int, help="clients listed (default: the capacity)")
    calllist.add_argument(
        "--publish",
        action="store_true",
        help="give this list to the managers: keep it and write reports/calllist.csv",
    )
    calllist.add_argument(
        "--clients",
        type=Path,
        metavar="FILE",
        help="rank the clients of this CSV or Parquet file instead (any size, read in chunks; "
        "writes reports/calllist-<name>.csv, never publishes)",
    )
    calllist.set_defaults(command=_calllist)


def _train(args: argparse.Namespace) -> int:
    scipy_special_first()  # before the step's imports
    from riskwatch.model.metrics import Metric
    from riskwatch.scoring import LABELS, format_metric
    from riskwatch.training import train_version

    settings = settings_of(args)
    with open_store(settings) as store:
        result = train_version(settings, store)
    training, holdout = result.metadata["training"], result.metadata["metrics"]["holdout"]
    lines = [
        f"Trained {result.metadata['kind']} model {result.version} on {training['rows']:,} rows "
        f"({training['window']} data) in {training['seconds']:.2f} s; on the holdout:",
        *(f"  {LABELS[n]:<15} {format_metric(Metric(**holdout[n]))}" for n in holdout),
        f"Chosen: {result.metadata['choice']['reason']}",
        *_ranking_lines(result.metadata["ranking"], result.version),
    ]
    emit(args, result.to_dict(), "\n".join(lines))
    return EXIT_OK


def _ranking_lines(ranking: dict[str, Any], version: str) -> list[str]:
    """The deploy hint, or a loud warning when the model ranks no better than chance."""
    if ranking["better_than_chance"]:
        return [f"Deploy it with: riskwatch deploy {version}"]
    return [
        f"WARNING: this model ranks no better than chance: {ranking['reason']}.",
        "WARNING: `riskwatch deploy` refuses it; train on more data, or deploy it anyway with "
        f"`riskwatch deploy --force {version}`.",
    ]


def _score(args: argparse.Namespace) -> int:
    scipy_special_first()  # before the step's imports
    from riskwatch.scoring import score

    settings = settings_of(args)
    with open_store(settings) as store:
        report = score(settings, store, version=args.model_version, data=args.data)
    emit(args, report.to_dict(), report.summary())
    return EXIT_OK


def _deploy(args: argparse.Namespace) -> int:
    scipy_special_first()  # before the step's imports
    from riskwatch.deployment import deploy, promote

    settings = settings_of(args)
    with open_store(settings) as store:
        if args.gate:
            decision = promote(settings, store, args.version)
            verdict = "deployed" if decision.promoted else "not deployed"
            emit(args, decision.to_dict(), f"{decision.challenger} {verdict}: {decision.reason}")
            return EXIT_OK
        result = deploy(settings, store, args.version, force=args.force)
    emit(args, result.to_dict(), _deployed_text(result))
    return EXIT_OK


def _deployed_text(result: Any) -> str:
    d = result.deployed
    if not result.changed:
        return f"{d.version} is already in production (since {d.deployed_at}); nothing changed"
    before = f" (was {d.previous_version})" if d.previous_version else ""
    return f"Production model is now {d.version}{before}: {d.reason}"


def _rollback(args: argparse.Namespace) -> int:
    from riskwatch.deployment import rollback

    settings = settings_of(args)
    with open_store(settings) as store:
        result = rollback(settings, store, args.version)
    emit(args, result.to_dict(), _deployed_text(result))
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    from riskwatch.status import read_status  # light: no SQLAlchemy, scikit-learn or pandas

    found = read_status(settings_of(args))
    emit(args, found.to_dict(), found.summary())
    return EXIT_OK


def _models(args: argparse.Namespace) -> int:
    from riskwatch.catalog import catalog  # light: no scikit-learn, no pandas

    settings = settings_of(args)
    with open_store(settings) as store:
        found = catalog(settings, store)
    emit(args, found.to_dict(), found.text())
    return EXIT_OK


def _calllist(args: argparse.Namespace) -> int:
    scipy_special_first()  # before the step's imports
    from riskwatch.calllist.build import build_call_list, publish_call_list
    from riskwatch.scheduler import LockedError, run_lock

    settings = settings_of(args)
    if args.clients is not None:
        return _calllist_of_file(args, settings)
    with open_store(settings) as store:
        if not args.publish:
            calls = build_call_list(settings, store, top=args.top)
        else:
            try:  # a cycle publishes too: one at a time, so each compares with the one before
                with run_lock(settings):
                    calls = build_call_list(settings, store, top=args.top)
                    calls = publish_call_list(settings, store, calls)
            except LockedError as exc:
                log.error("error: a cycle is running (%s) and publishes its own list", exc.holder)
                return EXIT_LOCKED
    text = calls.summary()
    if args.quiet:  # the clients only, for a look; nothing for a publication
        text = "" if args.publish else "\n".join(calls.lines())
    emit(args, calls.to_dict(), text)
    return EXIT_OK


def _calllist_of_file(args: argparse.Namespace, settings: Any) -> int:
    from riskwatch.calllist.chunked import file_call_list
    from riskwatch.errors import RiskwatchError

    if args.publish:  # the managers' list is the master dataset's clients, not a file's
        raise RiskwatchError("--publish and --clients do not go together: a file's list is a look")
    with open_store(settings) as store:
        found = file_call_list(settings, store, args.clients, top=args.top)
    text = "\n".join(found.calls.lines()) if args.quiet else found.summary()
    emit(args, found.to_dict(), text)
    return EXIT_OK
