"""The app's service layer, shared by the commands, the GUI and the demo: ledger access, the
local identity's signer, submitting transactions, certifying, rating, revoking, trust queries and
verification. Services return typed results and raise coded errors; they never print and import
neither click nor rich (progress goes through plain callbacks)."""
