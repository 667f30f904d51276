"""The feeds' judgements: one module per feed, named by its entry in the registry.

A judgement module has ``State`` (the site state it keeps, a :class:`~alerts.judge.SiteState`),
``judge(state, site, readings, context) -> (state, outcome)``, ``FIGURES`` (the figures it
exports, name -> help text; the series is ``envwatch_<feed>_<figure>``) and
``figure_labels(site)`` with ``FIGURE_LABELS`` (labels its figures carry besides site and
county). Pure: the engine in ``streams/`` does the I/O around it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from importlib import import_module
from typing import Any, Protocol

from alerts.judge import Context, Outcome, SiteState
from schemas.feed import Feed


class Judgement(Protocol):
    State: type[SiteState]
    FIGURES: Mapping[str, str]
    FIGURE_LABELS: tuple[str, ...]

    def judge(
        self, state: Any, site: Any, readings: Sequence[Any], context: Context
    ) -> tuple[Any, Outcome]: ...

    def figure_labels(self, site: Any) -> tuple[str, ...]: ...


@cache
def judgement(feed: Feed) -> Judgement:
    """The judgement module the feed's registry entry names."""
    module: Judgement = import_module(feed.judgement)  # type: ignore[assignment]
    return module
