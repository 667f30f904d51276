"""The generated dashboards: in step with the code, loadable by the SDK, fit for a wall."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from alerts.standards.editions import all_editions
from dashboards import command_centre
from dashboards.build import JSON_DIR, MODULES, as_dict, load, rendered
from dashboards.common import AQI_COLOURS, POSTGRES, PROMETHEUS
from dashboards.provision import Sources, datasources

ROOT = Path(__file__).resolve().parents[2]
# Grafana's grid: 24 columns; each row unit is 30 px plus an 8 px gap. In kiosk mode at
# 1920x1080 that leaves floor(1080 / 38) = 28 rows; keep one spare for the browser's chrome.
WALL_ROWS = 27


def test_golden_files_match_the_code() -> None:
    """Run `envwatch dashboards build` after changing a dashboard module."""
    files = {p.name: p.read_text(encoding="utf-8") for p in JSON_DIR.glob("*.json")}
    assert files == rendered()


@pytest.mark.parametrize("name", sorted(rendered()))
def test_json_loads_back_into_the_sdk_model(name: str) -> None:
    path = JSON_DIR / name
    model = load(path)
    again = json.loads(json.dumps(model.to_json(), default=lambda o: o.to_json()))
    assert again == json.loads(path.read_text(encoding="utf-8"))


def test_keys_are_sorted() -> None:
    for text in rendered().values():
        assert (
            text
            == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        )


def cells(board: dict) -> list[tuple[int, int, int, int]]:
    return [
        (p["gridPos"]["x"], p["gridPos"]["y"], p["gridPos"]["w"], p["gridPos"]["h"])
        for p in board["panels"]
    ]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.UID)
def test_panels_stay_in_the_grid_and_do_not_overlap(module) -> None:
    board = as_dict(module)
    taken: set[tuple[int, int]] = set()
    for x, y, w, h in cells(board):
        assert x + w <= 24
        squares = {(i, j) for i in range(x, x + w) for j in range(y, y + h)}
        assert not squares & taken
        taken |= squares
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])


def test_command_centre_fits_one_1080p_screen() -> None:
    bottom = max(y + h for _, y, _, h in cells(as_dict(command_centre)))
    assert bottom <= WALL_ROWS
    assert not any(p["type"] == "row" for p in as_dict(command_centre)["panels"])


def test_command_centre_has_what_the_wall_needs() -> None:
    board = as_dict(command_centre)
    kinds = [p["type"] for p in board["panels"]]
    assert kinds.count("gauge") == len(command_centre.TARGETS)
    assert {"geomap", "bargauge", "table", "timeseries"} <= set(kinds)
    trend = next(p for p in board["panels"] if p["type"] == "timeseries")
    limits = [s["value"] for s in trend["fieldConfig"]["defaults"]["thresholds"]["steps"][1:]]
    assert trend["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "dashed"
    assert len(limits) == 2


def test_every_target_the_city_exports_has_a_gauge_across_the_top_row() -> None:
    board = as_dict(command_centre)
    gauges = [p for p in board["panels"] if p["type"] == "gauge"]
    exprs = " ".join(t["expr"] for p in gauges for t in p["targets"])
    for target in ("aqi_good_day_ratio", "water_class3_ratio", "wastewater_grade1a_ratio"):
        assert f'target="{target}"' in exprs
    spans = sorted((p["gridPos"]["x"], p["gridPos"]["w"]) for p in gauges)
    assert [x for x, _ in spans] == [sum(w for _, w in spans[:i]) for i in range(len(spans))]
    assert sum(w for _, w in spans) == 24 and min(w for _, w in spans) >= 2


def test_aqi_colours_are_those_of_every_aqi_edition() -> None:
    for edition in (e for e in all_editions() if e.family == "aqi"):
        assert tuple(c["color"].upper() for c in edition.data["categories"]) == AQI_COLOURS


def test_every_target_names_a_known_data_source() -> None:
    known = {(PROMETHEUS.type_val, PROMETHEUS.uid), (POSTGRES.type_val, POSTGRES.uid)}
    for board in (as_dict(m) for m in MODULES):
        for panel in board["panels"]:
            for target in panel["targets"]:
                assert (target["datasource"]["type"], target["datasource"]["uid"]) in known


def test_provisioned_and_pushed_data_sources_agree() -> None:
    path = ROOT / "deploy/grafana/provisioning/datasources/envwatch.yml"
    provisioned = {d["uid"]: d for d in yaml.safe_load(path.read_text())["datasources"]}
    pushed = {d["uid"]: d for d in datasources(Sources())}
    assert provisioned.keys() == pushed.keys() == {PROMETHEUS.uid, POSTGRES.uid}
    for uid, spec in pushed.items():
        for key in ("type", "url", "user"):
            assert provisioned[uid].get(key) == spec.get(key), (uid, key)
    assert (
        provisioned[POSTGRES.uid]["jsonData"]["database"]
        == pushed[POSTGRES.uid]["jsonData"]["database"]
    )
