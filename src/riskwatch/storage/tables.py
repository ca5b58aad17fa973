"""The metadata database's tables; migrations create them in order (see store.py)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

schema_version = sa.Table(
    "riskwatch_schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.String(32), nullable=False),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(1024), nullable=False),
    sa.Column("name", sa.String(1024), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False, default=0),
    sa.Column("watermark_low", sa.Text),
    sa.Column("watermark_high", sa.Text),
    # pending: rows may be in the master dataset or not (a crash); ingested; quarantined (whole)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("rows_read", sa.BigInteger, nullable=False, default=0),
    sa.Column("rows_valid", sa.BigInteger, nullable=False, default=0),
    sa.Column("rows_quarantined", sa.BigInteger, nullable=False, default=0),
    sa.Column("rows_duplicate", sa.BigInteger, nullable=False, default=0),
    sa.Column("rows_added", sa.BigInteger, nullable=False, default=0),
    sa.Column("missing_values", sa.Text, nullable=False, default="{}"),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("started_at", sa.String(32), nullable=False),
    sa.Column("finished_at", sa.String(32)),
    sa.Index("ix_batches_source_sha", "source", "sha256"),
)


models = sa.Table(
    "models",
    metadata,
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("training_rows", sa.BigInteger, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),
)

scores = sa.Table(
    "scores",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version", sa.String(64), nullable=False, index=True),
    sa.Column("dataset", sa.String(1024), nullable=False),
    sa.Column("dataset_sha256", sa.String(64), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),
    sa.Column("scored_at", sa.String(32), nullable=False),
)

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # deploy | rollback
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("previous_version", sa.String(64)),
    sa.Column("deployed_at", sa.String(32), nullable=False),
)

promotions = sa.Table(
    "promotions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("challenger", sa.String(64), nullable=False),
    sa.Column("production", sa.String(64)),
    sa.Column("metric", sa.String(32), nullable=False),
    sa.Column("margin", sa.Float, nullable=False),
    sa.Column("challenger_value", sa.Float),
    sa.Column("production_value", sa.Float),
    sa.Column("promoted", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("decided_at", sa.String(32), nullable=False),
)

diagnostics = sa.Table(
    "diagnostics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False, index=True),
    sa.Column("version", sa.String(64)),  # the deployed model at the time, if any
    sa.Column("result", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

cycles = sa.Table(
    "cycles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("trigger", sa.String(16), nullable=False),  # manual | schedule | cron
    sa.Column("outcome", sa.String(32), nullable=False),  # running until the cycle ends
    sa.Column("steps", sa.Text, nullable=False),  # each decision with its numbers
    sa.Column("error", sa.Text),
    sa.Column("started_at", sa.String(32), nullable=False),
    sa.Column("finished_at", sa.String(32)),
)

call_lists = sa.Table(
    "call_lists",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("published_at", sa.String(32), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),  # the model that scored the clients
    sa.Column("cycle_id", sa.Integer),  # the cycle that published it; none for `calllist --publish`
    sa.Column("clients", sa.BigInteger, nullable=False),  # current clients scored
    sa.Column("departed", sa.BigInteger, nullable=False),  # clients not listed: they already left
    sa.Column("size", sa.Integer, nullable=False),  # clients listed
    sa.Column("path", sa.String(1024), nullable=False),  # the CSV file it was written to
)

call_list_items = sa.Table(
    "call_list_items",
    metadata,
    sa.Column("list_id", sa.Integer, sa.ForeignKey("call_lists.id"), primary_key=True),
    sa.Column("rank", sa.Integer, primary_key=True),
    sa.Column("corporation", sa.Text, nullable=False),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("risk_band", sa.String(8), nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),  # a JSON list of phrases
    sa.Column("change", sa.String(64), nullable=False),  # since the list published before
    sa.Column("previous_rank", sa.Integer),
    # In the list's control group (not to be called); null on lists published before step 7.
    sa.Column("holdout", sa.Boolean),
)

# Columns holding JSON documents, encoded on write and decoded on read by add() and rows().
JSON_COLUMNS = frozenset({"params", "metrics", "result", "steps", "reasons"})

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("corporation", sa.Text, nullable=False),  # the client called
    sa.Column("contacted_at", sa.String(32), nullable=False),  # UTC, as utcnow() writes it
    sa.Column(
        "outcome", sa.String(16), nullable=False
    ),  # reached | no_answer | saved | lost | declined
    sa.Column("note", sa.Text),
    sa.Column("manager", sa.String(200)),  # who called
    # The published list in effect when the call was made, if it listed the client.
    sa.Column("list_id", sa.Integer, sa.ForeignKey("call_lists.id")),
    sa.Column("list_published_at", sa.String(32)),
    sa.Column("list_rank", sa.Integer),
    sa.Column("list_version", sa.String(64)),  # the model that ranked the client there
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Column("source", sa.String(1024), nullable=False),  # "calls.csv line 4", or "api"
    # The same contact is stored once, however often its file is imported.
    sa.UniqueConstraint("corporation", "contacted_at", "outcome", name="uq_contacts_contact"),
)
