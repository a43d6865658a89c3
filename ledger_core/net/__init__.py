"""Peer network: framing, authenticated handshake, secure channel, asyncio peers and transport.

Layers, bottom up (each module's docstring documents its interface):
``framing`` (length-prefixed frames) -> ``handshake`` (X25519/Ed25519 key exchange, AEAD
cipher states) -> ``channel`` (sans-I/O secure channel) -> ``peer`` (one asyncio connection:
queue, keep-alive, rate limit, RTT) -> ``transport`` (server, dialer with back-off, broadcast,
admission limits, bans). ``errors`` (``ProtocolError`` with reason codes), ``peer_score``
(misbehaviour scores and bans), ``ratelimit``, ``backoff`` and ``address`` (``HOST:PORT``
parsing) are small pure helpers. Discovery lives in ``ledger_core.net.discovery``.

A node typically does::

    transport = Transport(keys, chain_id, is_authorized, on_message=handle)
    host, port = await transport.listen("0.0.0.0", 26656)
    for text in static_peers:
        transport.add_peer(*parse_address(text))
    discovery = Discovery(chain_id, keys.key_id, port, height=h,
                          on_found=lambda a: transport.add_peer(*a.addresses[0], a.key_id,
                                                                discovered=True))
    await discovery.start()
    transport.broadcast({"type": "vote", ...})
"""
