"""Tokens: where a request's bearer token comes from (`tokens`). The flow signs with them."""
