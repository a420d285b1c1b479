"""The Monite API version this package was generated for.

Written by scripts/generate.py from `info.version` of openapi/mailbox_domains.yaml.
"""

API_VERSION = "2024-05-25"
