"""What Grafana does to a panel's query before sending it, done explicitly for tests.

Grafana's PostgreSQL data source expands ``$__`` macros and dashboard variables into SQL; this
expander supports exactly the macros the dashboards use and fails on any other, so a new macro
cannot slip through untested. Helpers walk a dashboard's JSON for its SQL and PromQL targets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

CITY = ZoneInfo("Asia/Shanghai")
_MACRO = re.compile(r"\$__(\w+)\(([^)]*)\)")
_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    @classmethod
    def of(cls, grafana_from: str, now: datetime) -> TimeRange:
        """``now-24h``, ``now-7d`` or ``now/y`` (year so far in the city's time zone)."""
        if grafana_from == "now/y":
            local = now.astimezone(CITY)
            return cls(
                local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0), now
            )
        match = re.fullmatch(r"now-(\d+)([smhd])", grafana_from)
        if not match:
            raise ValueError(f"time range {grafana_from!r} is not supported by the test expander")
        return cls(now - timedelta(seconds=int(match[1]) * _UNITS[match[2]]), now)


def _seconds(interval: str) -> int:
    match = re.fullmatch(r"'?(\d+)([smhd])'?", interval.strip())
    if not match:
        raise ValueError(f"interval {interval!r} is not supported")
    return int(match[1]) * _UNITS[match[2]]


def _literal(at: datetime) -> str:
    return f"'{at.isoformat()}'::timestamptz"


def expand_sql(sql: str, span: TimeRange, variables: Mapping[str, str]) -> str:
    """Grafana's macro expansion for PostgreSQL, for the macros the dashboards use."""

    def macro(match: re.Match[str]) -> str:
        name, args = match[1], [a.strip() for a in match[2].split(",")] if match[2] else []
        if name == "timeFilter":
            return f"{args[0]} BETWEEN {_literal(span.start)} AND {_literal(span.end)}"
        if name == "timeFrom":
            return _literal(span.start)
        if name == "timeTo":
            return _literal(span.end)
        if name in ("timeGroup", "timeGroupAlias"):
            secs = _seconds(args[1])
            group = f"floor(extract(epoch from {args[0]})/{secs})*{secs}"
            return group + (' AS "time"' if name == "timeGroupAlias" else "")
        raise ValueError(f"macro $__{name} is not supported by the test expander")

    return expand_variables(_MACRO.sub(macro, sql), variables)


def expand_variables(text: str, variables: Mapping[str, str]) -> str:
    def variable(match: re.Match[str]) -> str:
        name, form = match[1] or match[3], match[2]
        if name.startswith("__"):
            raise ValueError(f"${name} left unexpanded")
        if name not in variables:
            raise KeyError(f"dashboard variable ${name} has no value in the test")
        value = variables[name]
        if form is None:
            return value
        if form == "sqlstring":  # as Grafana formats it: quoted, quotes doubled
            return "'" + value.replace("'", "''") + "'"
        raise ValueError(f"variable format {form!r} of ${name} is not known to the test")

    return _VARIABLE.sub(variable, text)


@dataclass(frozen=True)
class Target:
    dashboard: str
    panel: dict[str, Any]
    query: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.dashboard} / {self.panel.get('title')} / {self.query.get('refId')}"


def targets(board: Mapping[str, Any], kind: str) -> Iterator[Target]:
    """Every target of a dashboard whose data source type is ``kind``; variables included."""
    for panel in board.get("panels", []):
        for query in panel.get("targets", []):
            if (query.get("datasource") or panel.get("datasource") or {}).get("type") == kind:
                yield Target(board["uid"], panel, query)
    for variable in board.get("templating", {}).get("list", []):
        if variable.get("type") == "query" and variable["datasource"]["type"] == kind:
            text = variable["query"]
            key = "rawSql" if kind != "prometheus" else "expr"
            yield Target(board["uid"], {"title": f"variable {variable['name']}"}, {key: text})
