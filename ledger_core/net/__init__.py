"""Peer network: framing, authenticated handshake, secure channel, asyncio peers and transport.

Layers, bottom up (each module's docstring documents its interface):
``framing`` (length-prefixed frames) -> ``handshake`` (X25519/Ed25519 key exchange, AEAD
cipher states) -> ``channel`` (sans-I/O secure channel) -> ``peer`` (one asyncio connection:
queue, keep-alive, rate limit, RTT) -> ``transport`` (server, dialer with back-off, broadcast).
``ratelimit`` and ``backoff`` are small pure helpers. Discovery lives in ``ledger_core.discovery``.
"""
