"""A client library for accessing Monite mailbox domains (monite_async fragment)"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
