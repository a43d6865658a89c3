"""The operator station's wiring: the inspection services, the trust gate's I/O (hashing the
model files, polling the ledger head), anchoring of inspection records on the ledger, headless
runs and the bench. The decisions live in the cores (`ledger_core.attest.model_choice`,
`ledger_core.attest.anchors`, `inspection`)."""
