"""Migration 009: the rows of the old ``readings`` table into the feed tables.

The old layout held one row per measured parameter: ``readings (ts, feed, site_id, parameter,
value, ts_end, received_at)``, the parameter named by its wire name, an air parameter with its
averaging period as a suffix (``pm25_1h``), ``ts`` the reading's time and ``ts_end`` the end of
an energy period. A reading's rows become one row of its feed's table, its values in their
columns. Which column a parameter goes to is the registry's knowledge, so the statements are
generated here from it rather than written in a SQL file.

Pure: statements and the check of the parameter names; ``schemas.migrate`` runs them one site
at a time, each site in a transaction of its own. A value already in the feed table is never
overwritten; a column still empty there is filled; so a run that stopped halfway and is run
again, or a run over rows already moved, changes nothing that was moved.
"""

from __future__ import annotations

from psycopg import sql

from schemas.feed import Feed
from schemas.tables import group_columns, table, unique_key

LEGACY = "readings"


class LegacyError(ValueError):
    """Old rows this registry cannot place; nothing of their feed is moved."""


def suffixed(feed: Feed) -> str | None:
    """The key column an old parameter name carried as its suffix (air's period), if any."""
    extra = [c for c in group_columns(feed) if c != "site_id"]
    if len(extra) > 1:
        raise LegacyError(f"feed {feed.name}: the old layout never held a key of {extra}")
    return extra[0] if extra else None


def unknown_parameters(feed: Feed, parameters: list[str]) -> list[str]:
    """Old parameter names of a feed that name no quantity of it (with its suffix if any)."""
    wires = {q.wire for q in feed.quantities}
    suffix = suffixed(feed)

    def known(name: str) -> bool:
        if suffix is None:
            return name in wires
        base, _, tail = name.rpartition("_")
        return bool(tail) and base in wires

    return sorted(p for p in parameters if not known(p))


def _old_rows(feed: Feed) -> sql.Composed:
    """One site's old rows, with the parameter split into its wire name and suffix."""
    if suffixed(feed) is None:
        split = sql.SQL("parameter AS base, NULL::text AS suffix")
    else:
        split = sql.SQL(
            "regexp_replace(parameter, '_[^_]*$', '') AS base, "
            "substring(parameter FROM '_([^_]*)$') AS suffix"
        )
    return sql.SQL(
        "SELECT site_id, ts, ts_end, value, received_at, parameter, {} FROM {} "
        "WHERE feed = %(feed)s AND site_id = %(site)s"
    ).format(split, sql.Identifier(LEGACY))


def _end_column(feed: Feed) -> str | None:
    """The feed's second time column, filled from ``ts_end`` (energy's period end)."""
    ends = [c.name for c in feed.columns if c.kind == "time" and c.name != feed.time_column]
    return ends[0] if ends else None


def move(feed: Feed) -> sql.Composed:
    """One site's old rows, pivoted to readings, into the feed table; fills, never replaces."""
    suffix, end = suffixed(feed), _end_column(feed)
    target = [sql.Identifier("site_id"), sql.Identifier(feed.time_column)]
    source: list[sql.Composable] = [sql.SQL("site_id"), sql.SQL("ts")]
    groups = [sql.SQL("site_id"), sql.SQL("ts")]
    if suffix is not None:
        target.append(sql.Identifier(suffix))
        source.append(sql.SQL("suffix"))
        groups.append(sql.SQL("suffix"))
    filled = [q.attr for q in feed.quantities]
    if end is not None:
        target.append(sql.Identifier(end))
        source.append(sql.SQL("max(ts_end)"))
        filled.append(end)
    for q in feed.quantities:
        target.append(sql.Identifier(q.attr))
        source.append(sql.SQL("max(value) FILTER (WHERE base = {})").format(sql.Literal(q.wire)))
    target.append(sql.Identifier("received_at"))
    source.append(sql.SQL("min(received_at)"))
    sets = [
        sql.SQL("{0} = coalesce(t.{0}, excluded.{0})").format(sql.Identifier(c)) for c in filled
    ]
    gaps = [
        sql.SQL("(t.{0} IS NULL AND excluded.{0} IS NOT NULL)").format(sql.Identifier(c))
        for c in filled
    ]
    return sql.SQL(
        "INSERT INTO {} AS t ({}) SELECT {} FROM ({}) AS old GROUP BY {} "
        "ON CONFLICT ({}) DO UPDATE SET {} WHERE {}"
    ).format(
        sql.Identifier(table(feed)),
        sql.SQL(", ").join(target),
        sql.SQL(", ").join(source),
        _old_rows(feed),
        sql.SQL(", ").join(groups),
        sql.SQL(", ").join(map(sql.Identifier, unique_key(feed))),
        sql.SQL(", ").join(sets),
        sql.SQL(" OR ").join(gaps),
    )


def differing(feed: Feed) -> sql.Composed:
    """One site's old values that the feed table does not hold as they were: after
    :func:`move`, a value stored first under the new layout at the same key and different.
    Returns (parameter, ts, old value, stored value)."""
    on = [
        sql.SQL("t.site_id = old.site_id"),
        sql.SQL("t.{} = old.ts").format(sql.Identifier(feed.time_column)),
    ]
    suffix = suffixed(feed)
    if suffix is not None:
        on.append(sql.SQL("t.{} = old.suffix").format(sql.Identifier(suffix)))
    stored = sql.SQL("CASE old.base {} END").format(
        sql.SQL(" ").join(
            sql.SQL("WHEN {} THEN t.{}").format(sql.Literal(q.wire), sql.Identifier(q.attr))
            for q in feed.quantities
        )
    )
    return sql.SQL(
        "SELECT old.parameter, old.ts, old.value, {stored} FROM ({old}) AS old "
        "LEFT JOIN {table} AS t ON {on} WHERE {stored} IS DISTINCT FROM old.value "
        "ORDER BY old.ts, old.parameter"
    ).format(
        stored=stored,
        old=_old_rows(feed),
        table=sql.Identifier(table(feed)),
        on=sql.SQL(" AND ").join(on),
    )


SITES = sql.SQL("SELECT feed, site_id, array_agg(DISTINCT parameter) FROM {} GROUP BY 1, 2").format(
    sql.Identifier(LEGACY)
)
