"""Zeroconf (mDNS / DNS-SD) discovery of peers of the same chain on the plant LAN.

Each node registers a ``_bcmlp._tcp.local.`` service whose TXT record holds ``chain`` (the chain
id, i.e. the genesis hash), ``key`` (the node key id) and ``height``, and browses for the same
service type. Discovery only finds addresses: whether a node may take part is decided by the
ledger during the authenticated handshake (``ledger_core.net``). Services of other chains, our
own service and records with malformed TXT entries are ignored.

Interface (asyncio, on the node's loop):
- ``Discovery(chain_id, key_id, port, *, height=0, on_found, on_removed=None,
  interfaces=InterfaceChoice.All, ip_version=IPVersion.V4Only, addresses=None, zeroconf=None)``.
  ``on_found(announcement)`` is called when a peer of our chain appears or its record changes
  (e.g. a new height); ``on_removed(announcement)`` when it goes away. Callbacks may be plain
  functions or return awaitables. ``interfaces`` and ``ip_version`` go to ``zeroconf`` (tests
  use ``["127.0.0.1"]`` only); ``addresses`` are the IPs we advertise (default: the interface
  addresses given, or every non-loopback IPv4 address of the host). ``zeroconf`` may be an
  existing ``AsyncZeroconf`` to share (it is then not closed by ``close()``).
- ``await start()``: registers (mDNS probing takes about 1.7 s) and starts browsing.
- ``await set_height(height)``: updates the TXT record.
- ``found``: ``dict[instance name, Announcement]`` of the peers currently seen; ``ignored``:
  ``dict[instance name, reason]`` for services seen and skipped (``other_chain``, ``malformed``),
  for diagnostics.
- ``await close()``: unregisters (goodbye packets), stops browsing.
- ``Announcement(name, chain_id, key_id, height, addresses)`` with ``addresses`` a tuple of
  ``(host, port)`` pairs to hand to ``Transport.add_peer(host, port, key_id)``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zeroconf import (
    InterfaceChoice,
    InterfacesType,
    IPVersion,
    ServiceInfo,
    ServiceStateChange,
    Zeroconf,
    get_all_addresses,
)
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from ledger_core.net.callbacks import call_safely

SERVICE_TYPE = "_bcmlp._tcp.local."
TXT_VERSION = "1"
_RESOLVE_TIMEOUT_MS = 3000
_HEX = re.compile(r"[0-9a-f]{1,128}")
_KEY_ID = re.compile(r"[0-9a-f]{64}")

log = logging.getLogger("ledger_core.net.discovery")


@dataclass(frozen=True)
class Announcement:
    name: str
    chain_id: str
    key_id: str
    height: int
    addresses: tuple[tuple[str, int], ...]


def parse_txt(properties: dict[str, str | None]) -> tuple[str, str, int] | None:
    """``(chain_id, key_id, height)`` from decoded TXT properties, or None when malformed."""
    chain, key, height = properties.get("chain"), properties.get("key"), properties.get("height")
    if properties.get("v") != TXT_VERSION or not chain or not key or height is None:
        return None
    if not _HEX.fullmatch(chain) or not _KEY_ID.fullmatch(key):
        return None
    if not height.isdigit() or len(height) > 19:
        return None
    return chain, key, int(height)


def _default_addresses(interfaces: InterfacesType) -> list[str]:
    if isinstance(interfaces, list):
        ips = []
        for item in interfaces:
            if isinstance(item, str):
                try:
                    ips.append(str(ipaddress.ip_address(item)))
                except ValueError:
                    pass
        if ips:
            return ips
    ips = [a for a in get_all_addresses() if not ipaddress.ip_address(a).is_loopback]
    return ips or ["127.0.0.1"]


class Discovery:
    """Register this node and browse for peers of the same chain (see the module docstring)."""

    def __init__(
        self,
        chain_id: str,
        key_id: str,
        port: int,
        *,
        on_found: Callable[[Announcement], Any],
        on_removed: Callable[[Announcement], Any] | None = None,
        height: int = 0,
        interfaces: InterfacesType = InterfaceChoice.All,
        ip_version: IPVersion = IPVersion.V4Only,
        addresses: list[str] | None = None,
        zeroconf: AsyncZeroconf | None = None,
    ) -> None:
        if not _HEX.fullmatch(chain_id) or not _KEY_ID.fullmatch(key_id):
            raise ValueError("chain id and key id must be lower-case hex")
        self.chain_id = chain_id
        self.key_id = key_id
        self.port = port
        self.height = height
        self._on_found = on_found
        self._on_removed = on_removed
        self._interfaces = interfaces
        self._ip_version = ip_version
        self._addresses = addresses or _default_addresses(interfaces)
        self._shared = zeroconf
        self._azc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._info: ServiceInfo | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.found: dict[str, Announcement] = {}
        self.ignored: dict[str, str] = {}
        self.instance = f"bcmlp-{key_id[:32]}.{SERVICE_TYPE}"

    def _service_info(self) -> ServiceInfo:
        return ServiceInfo(
            SERVICE_TYPE,
            self.instance,
            port=self.port,
            properties={
                "v": TXT_VERSION,
                "chain": self.chain_id,
                "key": self.key_id,
                "height": str(self.height),
            },
            server=f"bcmlp-{self.key_id[:32]}.local.",
            parsed_addresses=self._addresses,
        )

    async def start(self) -> None:
        self._azc = self._shared or AsyncZeroconf(
            interfaces=self._interfaces, ip_version=self._ip_version
        )
        self._info = self._service_info()
        await (await self._azc.async_register_service(self._info, allow_name_change=True))
        self.instance = self._info.name
        self._browser = AsyncServiceBrowser(
            self._azc.zeroconf, SERVICE_TYPE, handlers=[self._on_service_state_change]
        )

    async def set_height(self, height: int) -> None:
        self.height = height
        if self._azc is None or self._info is None:
            return
        self._info = self._service_info()
        await (await self._azc.async_update_service(self._info))

    async def close(self) -> None:
        if self._browser is not None:
            await self._browser.async_cancel()
            self._browser = None
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._azc is not None:
            if self._info is not None:
                await (await self._azc.async_unregister_service(self._info))
            if self._shared is None:
                await self._azc.async_close()
            self._azc = None

    # -- browsing -------------------------------------------------------------------------------

    def _on_service_state_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if name == self.instance:
            return
        if state_change is ServiceStateChange.Removed:
            ann = self.found.pop(name, None)
            if ann is not None:
                self._spawn(call_safely(log, self._on_removed, ann))
        else:
            self._spawn(self._resolve(zeroconf, service_type, name))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve(self, zeroconf: Zeroconf, service_type: str, name: str) -> None:
        info = AsyncServiceInfo(service_type, name)
        if not await info.async_request(zeroconf, _RESOLVE_TIMEOUT_MS):
            log.debug("could not resolve %s", name)
            return
        parsed = parse_txt(info.decoded_properties)
        if parsed is None or info.port is None:
            log.debug("ignoring %s: malformed TXT record", name)
            self.ignored[name] = "malformed"
            return
        chain, key, height = parsed
        if chain != self.chain_id:
            self.ignored[name] = "other_chain"
            return
        if key == self.key_id:
            return
        hosts = info.parsed_addresses(self._ip_version)
        ann = Announcement(name, chain, key, height, tuple((h, info.port) for h in hosts))
        if not ann.addresses or self.found.get(name) == ann:
            return
        self.found[name] = ann
        await call_safely(log, self._on_found, ann)
