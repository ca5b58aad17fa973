"""A database source: a table or query at a SQLAlchemy URL; rows past the watermark are new."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from riskwatch.config import Settings
from riskwatch.ingestion.readers import RawChunk, UnreadableBatchError, numbered, schema_check
from riskwatch.ingestion.sources import Batch, Check, Reading, store_for

if TYPE_CHECKING:
    from riskwatch.storage.store import Store

log = logging.getLogger(__name__)


class DatabaseSource:
    """The rows of a table (or query) in watermark order; a batch is the rows (low, high]."""

    def __init__(self, url: str, table: str, query: str, watermark: str, *, key: str) -> None:
        self.url = url
        self.table = table
        self.query = query
        self.watermark = watermark
        self.key = key

    def label(self) -> str:
        """A short name of what is read, for batch names and messages."""
        return f"{self.table if not self.query else 'query'}.{self.watermark}"

    def check(self, settings: Settings, store: Store | None) -> Check:
        """The rows past the recorded watermark, as one batch named by its watermarks."""
        with store_for(settings, store) as opened:
            recorded = opened.batches(source=self.key, status="ingested")
        low = recorded[-1].watermark_high if recorded else None
        count, high = self.pending(low)
        result = Check(source=self.key, new_rows=count, already_ingested=len(recorded))
        if count:
            name = f"{self.label()}[{low}..{high}]"
            result.new.append(Batch(self.key, name, "", 0, None, low, high))
        return result

    def read(self, batch: Batch, chunk_rows: int) -> Reading:
        """The batch's rows in watermark order; their hash is complete once all are read."""
        reading = Reading([])
        reading.chunks = self._chunks(batch, chunk_rows, reading)
        return reading

    def advance(self, settings: Settings, store: Store) -> None:
        """Nothing to move: the recorded high watermarks are where the next check starts."""

    def pending(self, after: Any) -> tuple[int, Any]:
        """How many rows are past the watermark, and the highest watermark now."""
        import sqlalchemy as sa  # noqa: PLC0415 - SQLAlchemy is heavy

        source = self._selectable()
        mark = source.c[self.watermark]
        query = sa.select(sa.func.count(), sa.func.max(mark)).select_from(source)
        if after is not None:
            query = query.where(mark > after)
        with self._connected("query") as conn:
            count, highest = conn.execute(query).one()
        return int(count), highest

    @contextmanager
    def _connected(self, doing: str) -> Iterator[Any]:
        """A connection to the source database; its errors say what could not be done."""
        import sqlalchemy as sa  # noqa: PLC0415

        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise UnreadableBatchError(
                f"cannot {doing} the source database: {exc.__cause__ or exc}"
            ) from exc
        finally:
            engine.dispose()

    def _selectable(self) -> Any:
        import sqlalchemy as sa  # noqa: PLC0415

        if self.query:
            return sa.text(self.query).columns(sa.column(self.watermark)).subquery("source")
        return sa.table(self.table, sa.column(self.watermark))

    def _chunks(self, batch: Batch, chunk_rows: int, reading: Reading) -> Iterator[RawChunk]:
        """Read the rows, hashing them into reading.sha256 as they pass."""
        import pandas as pd  # noqa: PLC0415

        digest, row = hashlib.sha256(), 1
        with self._connected("read") as conn:
            for frame in pd.read_sql(self._rows(batch), conn, chunksize=chunk_rows):
                schema_check([str(c) for c in frame.columns])
                digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
                yield numbered(frame, row)
                row += len(frame)
        reading.sha256 = digest.hexdigest()

    def _rows(self, batch: Batch) -> Any:
        """The query of the batch's rows: past its low watermark, up to its high one."""
        import sqlalchemy as sa  # noqa: PLC0415

        mark: Any = sa.column(self.watermark)
        query = sa.select(sa.text("*")).select_from(self._selectable()).order_by(mark)
        if batch.watermark_low is not None:
            query = query.where(mark > batch.watermark_low)
        # Rows that arrive after the check belong to the next batch, so that the name holds.
        # A first batch also takes the rows without a watermark, as it always has.
        upto = mark <= batch.watermark_high
        return query.where(
            upto if batch.watermark_low is not None else sa.or_(upto, mark.is_(None))
        )
