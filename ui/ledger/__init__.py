"""The Ledger perspective: block explorer, transaction details, chain verification."""
