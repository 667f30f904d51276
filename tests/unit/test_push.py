"""The push tool's keys for lines it sends unchecked (``--no-validate``)."""

from __future__ import annotations

import orjson
import pytest

from schemas.feeds import FEEDS
from streams.push import site_key


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_an_unchecked_line_is_keyed_by_its_feeds_site_field(feed):
    field = FEEDS[feed].site_field
    line = orjson.dumps({field: "site-1", "ts": "2026-11-28T08:00:00+08:00"})
    assert site_key(line, feed) == b"site-1"
    batch = orjson.dumps([{field: "site-2"}, {field: "site-3"}])
    assert site_key(batch, feed) == b"site-2"  # a batch is one site's: its first names it
    others = {f.site_field for f in FEEDS.values()} - {field}
    assert all(site_key(orjson.dumps({o: "x"}), feed) is None for o in others)


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b"42", b'{"station_id": 7}'])
def test_a_line_without_a_site_gets_no_key(raw):
    assert site_key(raw, "air") is None
