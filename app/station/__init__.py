"""The operator station's wiring: the inspection services, the trust gate that decides which
model may run, anchoring of inspection records on the ledger, headless runs and the bench."""
