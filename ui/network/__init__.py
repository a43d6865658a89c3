"""The Network perspective: peers, the validator set and consensus of the local node."""
