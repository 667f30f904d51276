"""Render every dashboard to ``dashboards/json/<uid>.json``: the files Grafana provisions.

Keys are sorted and the text is not ASCII-escaped, so a change to the code shows up as a small,
readable diff of the generated files (kept in step by a golden-file test).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import (
    air_station,
    command_centre,
    energy,
    pipeline_health,
    wastewater,
    water_sections,
)

MODULES: tuple[ModuleType, ...] = (
    command_centre,
    air_station,
    water_sections,
    wastewater,
    energy,
    pipeline_health,
)
JSON_DIR = Path(__file__).with_name("json")


def render(module: ModuleType) -> str:
    """One dashboard as the JSON text written to disk."""
    return (
        json.dumps(module.build(), cls=JSONEncoder, sort_keys=True, indent=2, ensure_ascii=False)
        + "\n"
    )


def rendered() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {f"{module.UID}.json": render(module) for module in MODULES}


def write_all(directory: Path = JSON_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def load(path: Path) -> Dashboard:
    """A generated file back in the SDK's model (what the round-trip test checks)."""
    return Dashboard.from_json(json.loads(path.read_text(encoding="utf-8")))


def as_dict(module: ModuleType) -> dict[str, Any]:
    return json.loads(render(module))


if __name__ == "__main__":
    for written in write_all():
        print(written)
