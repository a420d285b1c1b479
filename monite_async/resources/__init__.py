"""The resources a client shows: `mailbox_domains`, `auth`, and their raw responses."""
