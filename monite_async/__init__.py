"""monite_async: an async-first SDK for Monite's mailbox domains API."""
