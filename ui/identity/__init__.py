"""Identity perspective: shows the local identity, creates one, checks its passphrase."""
