"""Copy the city's register (schemas/reference) into the ``counties`` and ``sites`` tables.

Upserts, so editing a CSV and migrating again updates names, positions and attributes;
history queries and dashboards group by county without reading the files. A data logger's
access password stays in the register files (the gateway reads it there): the ``sites``
table is read by Grafana's anonymous role, so it holds the logger's MN but never its password.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orjson
import psycopg

from schemas.reference import load_reference

_COUNTY = """
INSERT INTO counties (code, name_zh, name_en, lat, lon) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (code) DO UPDATE SET name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en,
    lat = EXCLUDED.lat, lon = EXCLUDED.lon
"""
_SITE = """
INSERT INTO sites (feed, site_id, name_zh, county, lat, lon, attrs)
VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb)
ON CONFLICT (feed, site_id) DO UPDATE SET name_zh = EXCLUDED.name_zh,
    county = EXCLUDED.county, lat = EXCLUDED.lat, lon = EXCLUDED.lon, attrs = EXCLUDED.attrs
"""
_COMMON = {"id", "name_zh", "county", "lat", "lon"}
_SECRET = {"pw"}


def sync_register(url: str, directory: Path | None = None) -> int:
    """Returns the number of sites in the register."""
    reference = load_reference(directory)
    site_rows = []
    for feed, sites in reference.by_feed.items():
        for site in sites.values():
            attrs = {
                k: v for k, v in dataclasses.asdict(site).items() if k not in _COMMON | _SECRET
            }
            site_rows.append(
                (
                    feed,
                    site.id,
                    site.name_zh,
                    site.county,
                    site.lat,
                    site.lon,
                    orjson.dumps(attrs).decode(),
                )
            )
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            _COUNTY,
            [(c.code, c.name_zh, c.name_en, c.lat, c.lon) for c in reference.counties.values()],
        )
        cur.executemany(_SITE, site_rows)
    return len(site_rows)
