"""Finding, reading, checking and hashing the local distributions to publish."""
