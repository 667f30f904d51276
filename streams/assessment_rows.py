"""The assessment's results as rows of the tables migration 011 makes, and their replacement.

A basis's year is replaced whole in each table (in the caller's transaction), so a month that
lost its data to a revision loses its row too, and readers never see half of a write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import psycopg
from psycopg import sql

from alerts.assessment.air import PeriodMean
from alerts.assessment.scope import Basis
from alerts.assessment.wastewater import PlantGrade
from alerts.assessment.water import PeriodClass
from alerts.assessment.year import Assessed


@dataclass(frozen=True)
class Table:
    """A results table: its columns after ``basis`` are the fields of ``of``, in order (the
    ``site`` field in ``site_id``)."""

    name: str
    of: type
    types: tuple[str, ...]  # of those columns
    by_year: bool = False  # the rows of a year are those of its year column, not its starts

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple("site_id" if f.name == "site" else f.name for f in fields(self.of))


@dataclass(frozen=True, slots=True)
class TargetRow:
    target: str
    scope: str
    year: int
    value: float
    goal: float
    status: str | None
    as_of: date


AIR_MEANS = Table(
    "air_period_means",
    PeriodMean,
    ("text", "text", "date", "text", "float8", "int4", "int4", "bool", "text"),
)
SECTION_CLASSES = Table(
    "section_period_classes",
    PeriodClass,
    ("text", "text", "date", "int2", "text[]", "int4", "text"),
)
PLANT_GRADES = Table(
    "plant_period_grades",
    PlantGrade,
    ("text", "text", "date", "text", "bool", "text", "text[]", "int4", "text"),
)
TARGETS = Table(
    "target_progress", TargetRow, ("text", "text", "int4", "float8", "float8", "text", "date"), True
)
TABLES = (AIR_MEANS, SECTION_CLASSES, PLANT_GRADES, TARGETS)
Rows = dict[str, list[tuple[Any, ...]]]  # table name -> rows, without the basis


def rows_of(assessed: Assessed) -> Rows:
    targets = [
        TargetRow(target, scope, assessed.year, f.value, f.goal, f.status, assessed.as_of)
        for (target, scope), f in sorted(assessed.figures.items())
    ]
    held: dict[Table, Sequence[Any]] = {
        AIR_MEANS: assessed.air_means,
        SECTION_CLASSES: assessed.section_classes,
        PLANT_GRADES: assessed.plant_grades,
        TARGETS: targets,
    }
    return {table.name: [_row(r) for r in rows] for table, rows in held.items()}


def _row(result: Any) -> tuple[Any, ...]:
    """A result's fields as a row; tuples (the controlling indicators) as arrays."""
    return tuple(
        list(v) if isinstance(v, tuple) else v
        for v in (getattr(result, f.name) for f in fields(result))
    )


async def replace(conn: psycopg.AsyncConnection, rows: Rows, year: int, basis: Basis) -> None:
    """The year's rows of ``basis`` in every table, instead of those stored."""
    async with conn.cursor() as cur:
        for table in TABLES:
            name = sql.Identifier(table.name)
            if table.by_year:
                await cur.execute(
                    sql.SQL("DELETE FROM {} WHERE basis = %s AND year = %s").format(name),
                    (basis, year),
                )
            else:
                await cur.execute(
                    sql.SQL(
                        "DELETE FROM {} WHERE basis = %s AND starts >= %s AND starts < %s"
                    ).format(name),
                    (basis, date(year, 1, 1), date(year + 1, 1, 1)),
                )
            columns = sql.SQL(", ").join(map(sql.Identifier, ("basis", *table.columns)))
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(name, columns)
            async with cur.copy(statement) as copy:
                copy.set_types(("text", *table.types))
                for row in rows.get(table.name, ()):
                    await copy.write_row((basis, *row))
