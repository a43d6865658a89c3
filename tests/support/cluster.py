"""Helpers for the multi-process consortium tests: set-up, waiting, history comparison, a proxy."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from app.commands.bench_ledger_cmd import setup_consortium
from app.commands.cluster_procs import NodeProc, cluster
from ledger_core.node.client import NodeUnavailable

# Short timers so that round changes and heartbeats happen within seconds.
FAST = ["--heartbeat", "0.3", "--propose-timeout", "1"]


def make_cluster(base: Path, n: int = 4, senders: int = 4):
    g, devices, roots = setup_consortium(base, n, senders)
    return g, devices, cluster(roots, FAST)


def height(node: NodeProc) -> int:
    try:
        return node.status()["height"]
    except NodeUnavailable:
        return -1


def wait_heights(nodes: list[NodeProc], target: int, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        hs = [height(n) for n in nodes]
        if min(hs) >= target:
            return hs
        if time.monotonic() > deadline:
            raise AssertionError(f"heights {hs} did not reach {target} within {timeout} s")
        time.sleep(0.1)


def history(node: NodeProc, upto: int) -> list[str]:
    """Block ids at heights 1..upto."""
    assert node.client is not None
    out = []
    after = 0
    while after < upto:
        page = node.client.blocks(after=after, limit=1000)
        page = [b for b in page if b["height"] <= upto]
        if not page:
            break
        out += [b["block_id"] for b in sorted(page, key=lambda b: b["height"])]
        after = max(b["height"] for b in page)
    return out


def same_history(nodes: list[NodeProc]) -> int:
    """All nodes hold the same block ids up to the lowest height; returns that height."""
    h = min(height(n) for n in nodes)
    hist = [history(n, h) for n in nodes]
    assert all(len(x) == h for x in hist), [len(x) for x in hist]
    assert all(x == hist[0] for x in hist), "nodes hold different blocks"
    return h


class Proxy:
    """TCP forwarders on loopback, one per directed link, that can be cut and healed."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.blocked: set[str] = set()
        self.conns: dict[str, set[asyncio.StreamWriter]] = {}
        self.servers: list[asyncio.Server] = []

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def link(self, name: str, target_port: int) -> int:
        """Listen for link `name`, forwarding to 127.0.0.1:target_port; returns the port."""

        async def handle(reader, writer):
            if name in self.blocked:
                writer.close()
                return
            try:
                ur, uw = await asyncio.open_connection("127.0.0.1", target_port)
            except OSError:
                writer.close()
                return
            conns = self.conns.setdefault(name, set())
            conns.update((writer, uw))

            async def pipe(r, w):
                try:
                    while data := await r.read(65536):
                        w.write(data)
                        await w.drain()
                except (ConnectionError, OSError):
                    pass
                finally:
                    w.close()

            await asyncio.gather(pipe(reader, uw), pipe(ur, writer))
            conns.discard(writer)
            conns.discard(uw)

        async def start():
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            self.servers.append(server)
            return server.sockets[0].getsockname()[1]

        return self._run(start())

    def cut(self, names: set[str]) -> None:
        async def do():
            self.blocked |= names
            for n in names:
                for w in list(self.conns.get(n, ())):
                    w.transport.abort()

        self._run(do())

    def heal(self) -> None:
        async def do():
            self.blocked.clear()

        self._run(do())

    def close(self) -> None:
        async def do():
            for s in self.servers:
                s.close()
            for conns in self.conns.values():
                for w in list(conns):
                    w.transport.abort()

        self._run(do())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
