"""The relay's rows of ``alert_history`` (acknowledgements, escalations), in PostgreSQL.

A connection per call: acknowledgements come a few a day, and a relay that holds no
connection keeps working across a database restart. The writer role inserts and reads
``alert_history`` (``schemas/sql/005_alert_history.sql``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from alerts.notify.history import HistoryError, HistoryRow


class HistoryStore:
    def __init__(self, url: str) -> None:
        self.url = url

    @asynccontextmanager
    async def _connection(self, **options: Any) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection; any failure of the database becomes a HistoryError with its reason."""
        try:
            async with await psycopg.AsyncConnection.connect(self.url, **options) as conn:
                yield conn
        except (psycopg.Error, OSError) as e:
            raise HistoryError(f"alert_history: {type(e).__name__}: {e}".strip()) from None

    async def record(self, row: HistoryRow) -> None:
        columns = row.columns()
        columns["details"] = Jsonb(columns["details"])
        names = list(columns)
        statement = sql.SQL(
            "INSERT INTO alert_history ({}) VALUES ({}) "
            "ON CONFLICT ON CONSTRAINT alert_history_unique DO NOTHING"
        ).format(
            sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.SQL(", ").join(sql.Placeholder(n) for n in names),
        )
        async with self._connection(autocommit=True) as conn:
            await conn.execute(statement, columns)

    async def acknowledged_since(self, since: datetime) -> list[HistoryRow]:
        """The acknowledgements of instances that began firing after ``since``."""
        async with self._connection(row_factory=dict_row) as conn:
            cursor = await conn.execute(
                "SELECT at, actor, fingerprint, starts_at, value, limit_value, details "
                "FROM alert_history WHERE transition = 'acknowledged' AND starts_at >= %s "
                "ORDER BY at",
                (since,),
            )
            rows = await cursor.fetchall()
        return [
            HistoryRow(
                at=r["at"],
                transition="acknowledged",
                labels=r["details"].get("labels", {}),
                actor=r["actor"],
                fingerprint=r["fingerprint"],
                starts_at=r["starts_at"],
                value=r["value"],
                limit=r["limit_value"],
                details={k: v for k, v in r["details"].items() if k != "labels"},
            )
            for r in rows
        ]
