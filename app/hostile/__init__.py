"""A hostile consortium member: a real validator process with a valid registered node key that
misbehaves on purpose, one scenario at a time, to prove that no single participant can crash,
halt or stall the others (`python -m app.hostile --help`; `bcmlp bench hostile` runs it).

`payloads` draws hostile values and peer messages from a seeded generator, `forge` builds the
signed hostile artefacts, `hooks` turns a `ConsensusProducer` into a hostile one, `scenarios`
holds the misbehaviours and `__main__` starts the node exactly as `bcmlp node` does.
"""
