"""The bcmlp peer ledger: encoding, keys, Merkle trees, transactions, blocks, state, node. No Qt."""
