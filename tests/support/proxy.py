"""A TCP proxy of the test's own, to cut the network between two components and restore it.

It listens on a loopback port and forwards each connection to a target: a TCP port, or a Unix
socket (the embedded PostgreSQL listens on one only, so the proxy is also how a test gives it a
TCP address). :meth:`TcpProxy.cut` resets every connection at once and resets each new one as
soon as it is accepted, which a client sees as a connection refused or torn down;
:meth:`TcpProxy.restore` forwards again. A cut may be limited to the connections of one process
(``pid``): a Kafka client learns the broker's address from the broker, so the worker and the
test's own producers all reach the broker through the same proxy, and only the worker's side
of the network should fail.

asyncio in a thread of its own, so the test drives it with plain calls.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envwatch.embedded import free_port

_CHUNK = 65536


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    inode: int | None = None  # of the client's socket, to tell which process owns it

    def reset(self) -> None:
        _reset(self.client)
        if self.upstream is not None:
            _reset(self.upstream)


@dataclass
class TcpProxy:
    """``target`` is ``(host, port)`` or the path of a Unix socket."""

    target: tuple[str, int] | Path
    port: int = field(default_factory=free_port)
    dropped: int = 0  # connections reset by a cut
    refused: int = 0  # connections reset on arrival while cut
    _cut: bool = False
    _cut_pid: int | None = None
    _links: set[_Link] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self._call(self._listen())

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cut(self, pid: int | None = None) -> int:
        """Reset the connections (of process ``pid``, or all) and every new one until
        :meth:`restore`; returns how many were open."""
        return self._call(self._cut_now(pid))

    def restore(self) -> None:
        self._call(self._restore_now())

    def close(self) -> None:
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)

    def _call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _cut_now(self, pid: int | None) -> int:
        self._cut, self._cut_pid = True, pid
        victims = [link for link in self._links if self._is_cut(link)]
        for link in victims:
            link.reset()
        self.dropped += len(victims)
        return len(victims)

    async def _restore_now(self) -> None:
        self._cut, self._cut_pid = False, None

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.reset()

    def _is_cut(self, link: _Link) -> bool:
        if not self._cut:
            return False
        if self._cut_pid is None:
            return True
        return link.inode is not None and link.inode in _socket_inodes(self._cut_pid)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(writer, inode=_client_inode(writer.get_extra_info("peername")[1], self.port))
        if self._is_cut(link):
            self.refused += 1
            _reset(writer)
            return
        try:
            if isinstance(self.target, Path):
                up_reader, up_writer = await asyncio.open_unix_connection(self.target)
            else:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(writer)
            return
        link.upstream = up_writer
        self._links.add(link)
        try:
            await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        finally:
            self._links.discard(link)
            writer.close()
            up_writer.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:  # the other side was reset: the cut, or a peer that went away
        writer.transport.abort()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset, as a broken network shows itself, not an orderly goodbye."""
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family != socket.AF_UNIX:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _client_inode(client_port: int, proxy_port: int) -> int | None:
    """The inode of the client's end of a loopback connection to the proxy (/proc/net/tcp)."""
    local, remote = f"0100007F:{client_port:04X}", f"0100007F:{proxy_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            return int(fields[9])
    return None


def _socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets process ``pid`` holds open."""
    inodes = set()
    folder = Path(f"/proc/{pid}/fd")
    for name in os.listdir(folder):
        try:
            target = os.readlink(folder / name)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes
