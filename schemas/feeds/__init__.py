"""The registry of feeds: the one list of what the city monitors.

Each feed is a contract module beside this file (its message struct, its register row, its
:class:`~schemas.feed.Feed` entry) and a judgement module in ``alerts/feeds/``. Topics, the
decoder, the push tool, the simulator, the register, the tables, the relay, the agents and
the metric labels all read this mapping; the JSON Schemas published beside it are generated
from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from schemas.feed import Feed
from schemas.feeds import air, energy, wastewater, water

FEEDS: Mapping[str, Feed] = MappingProxyType(
    {feed.name: feed for feed in (air.FEED, water.FEED, energy.FEED, wastewater.FEED)}
)
