"""The Certificates perspective."""
