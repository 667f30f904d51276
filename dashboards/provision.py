"""Push folders, data sources and dashboards to a running Grafana through its HTTP API.

Idempotent: each object is looked up by its uid and updated when it exists, created when it does
not, so running it twice changes nothing the second time. The data sources match
``deploy/grafana/provisioning/datasources``; the PostgreSQL one logs in as the read-only role.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError

from dashboards.build import rendered
from dashboards.common import FOLDER_TITLE, FOLDER_UID, POSTGRES, PROMETHEUS


@dataclass(frozen=True)
class Sources:
    """Where Grafana finds Prometheus and the database (defaults: the compose stack)."""

    prometheus_url: str = "http://prometheus:9090"
    postgres_host: str = "timescaledb:5432"
    postgres_db: str = "envwatch"
    postgres_user: str = "envwatch_reader"
    postgres_password: str = ""


def datasources(src: Sources) -> list[dict[str, Any]]:
    return [
        {
            "uid": PROMETHEUS.uid,
            "name": "Prometheus",
            "type": PROMETHEUS.type_val,
            "access": "proxy",
            "url": src.prometheus_url,
            "isDefault": True,
            "jsonData": {"timeInterval": "15s"},
        },
        {
            "uid": POSTGRES.uid,
            "name": "TimescaleDB",
            "type": POSTGRES.type_val,
            "access": "proxy",
            "url": src.postgres_host,
            "user": src.postgres_user,
            "jsonData": {
                "database": src.postgres_db,
                "sslmode": "disable",
                "postgresVersion": 1600,
                "timescaledb": True,
            },
            "secureJsonData": {"password": src.postgres_password},
        },
    ]


def _missing(error: GrafanaClientError) -> bool:
    return error.status_code == 404


def ensure_folder(api: GrafanaApi) -> str:
    try:
        api.folder.get_folder(FOLDER_UID)
    except GrafanaClientError as error:
        if not _missing(error):
            raise
        api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        return "created"
    return "exists"


def ensure_datasource(api: GrafanaApi, spec: dict[str, Any]) -> str:
    try:
        api.datasource.get_datasource_by_uid(spec["uid"])
    except GrafanaClientError as error:
        if not _missing(error):
            raise
        api.datasource.create_datasource(spec)
        return "created"
    api.datasource.update_datasource_by_uid(spec["uid"], spec)
    return "updated"


def push_dashboard(api: GrafanaApi, text: str) -> str:
    board = json.loads(text)
    board.pop("id", None)  # Grafana matches on uid; an id from elsewhere would clash
    api.dashboard.update_dashboard(
        {"dashboard": board, "folderUid": FOLDER_UID, "overwrite": True, "message": "envwatch"}
    )
    return "pushed"


def push(url: str, token: str, src: Sources) -> list[tuple[str, str]]:
    """Returns (object, what happened) for each folder, data source and dashboard.

    Dashboards are rendered from the code, not read from disk, so what is pushed is what the
    code says even where ``dashboards/json`` is stale or read-only.
    """
    api = GrafanaApi.from_url(url, credential=token or None)
    done = [(f"folder {FOLDER_UID}", ensure_folder(api))]
    done += [(f"datasource {ds['uid']}", ensure_datasource(api, ds)) for ds in datasources(src)]
    done += [(f"dashboard {name}", push_dashboard(api, text)) for name, text in rendered().items()]
    return done
