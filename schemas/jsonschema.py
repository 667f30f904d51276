"""The JSON Schema documents agencies read, generated from the feed structs.

``python -m schemas.jsonschema`` rewrites ``schemas/feeds/*.schema.json``; a test fails when
the files and the structs disagree, so the published contract is always the decoder's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from schemas.feeds import FEEDS

FEEDS_DIR = Path(__file__).with_name("feeds")


def feed_schema(feed: str) -> dict[str, Any]:
    """One message: a single reading, or an array of one site's readings (a batch)."""
    (reading,), components = msgspec.json.schema_components(
        [FEEDS[feed].reading], ref_template="#/$defs/{name}"
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"envwatch {feed} feed message",
        "description": FEEDS[feed].about + " A message carries the readings of one site: one "
        "reading object, or an array of that site's readings. Key each message by the site id.",
        "oneOf": [reading, {"type": "array", "minItems": 1, "items": reading}],
        "$defs": components,
    }


def write_all(directory: Path = FEEDS_DIR) -> list[Path]:
    directory.mkdir(exist_ok=True)
    written = []
    for feed in FEEDS:
        path = directory / f"{feed}.schema.json"
        path.write_text(render(feed), encoding="utf-8")
        written.append(path)
    return written


def render(feed: str) -> str:
    return json.dumps(feed_schema(feed), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    for written in write_all():
        print(written)
