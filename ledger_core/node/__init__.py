"""The ledger node process: chain + mempool + a block producer + the control socket.

Modules, bottom up:
``clock`` (Unix ms), ``errors`` (``NodeError``), ``mempool``; ``control_socket`` (frames of
``net.framing`` holding canonical JSON, and the unix-socket server), ``control_requests`` (the
operations), ``client`` (the blocking client); ``ledger_node`` (``Node``: admission, applying
decided blocks, lifecycle); ``single_validator`` (the dev chain's producer).
The consortium producer (``network_producer.ConsensusProducer``) composes reactors (``runtime``:
``Reactor`` base, ``Shared`` = node, ``PeerLink``, ``TaskGroup``, commit lock) that ``router``
feeds by the message type ``"t"``:
``consensus_reactor`` (Tendermint), ``tx_gossip``, ``block_sync`` (with its pure parts
``sync_schedule`` and ``sync_items``) and ``evidence_gossip``.
"""
