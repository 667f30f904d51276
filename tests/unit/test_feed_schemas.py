"""The published JSON Schemas match the decoder, and accept what it accepts."""

from __future__ import annotations

import json

import jsonschema
import pytest

from schemas.feeds import FEEDS
from schemas.jsonschema import FEEDS_DIR, render

EXAMPLES = {
    "air": {
        "station_id": "air-yiwu-01",
        "ts": "2026-11-28T08:00:00+08:00",
        "pm25": 35.2,
        "co": 0.8,
    },
    "water": {"section_id": "wq-x", "ts": "2026-11-28T08:00:00+08:00", "do": 6.2, "as": 0.01},
    "energy": {
        "unit_id": "eu-x",
        "period_start": "2026-11-27T00:00:00+08:00",
        "period_end": "2026-11-28T00:00:00+08:00",
        "electricity_kwh": 5200.0,
    },
    "wastewater": {
        "plant_id": "ww-x",
        "ts": "2026-11-28T08:00:00+08:00",
        "cod": 32.5,
        "flow": 4100.0,
        "flags": {"cod": "N"},
        "status": "audited",
    },
}


@pytest.mark.parametrize("feed", FEEDS)
def test_published_schema_is_generated_from_the_models(feed):
    path = FEEDS_DIR / f"{feed}.schema.json"
    assert path.read_text(encoding="utf-8") == render(feed), (
        "schemas/feeds is stale: run `python -m schemas.jsonschema`"
    )


@pytest.mark.parametrize("feed", FEEDS)
def test_schema_accepts_a_reading_and_a_batch_and_refuses_a_negative(feed):
    schema = json.loads((FEEDS_DIR / f"{feed}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    example = EXAMPLES[feed]
    validator.validate(example)
    validator.validate([example, example])
    measured = next(q.wire for q in FEEDS[feed].quantities if q.wire in example)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(example | {measured: -1})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate([])
