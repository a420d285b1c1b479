"""Serve the fake Monite on 127.0.0.1: `python -m monite_async.testing --port 8080`.

It prints the base URL, the client ID and the client secret it accepts (`--client-id`,
`--client-secret`; defaults: `monite_async.testing.DEFAULT_CLIENT_ID` and
`DEFAULT_CLIENT_SECRET`), then three `export MONITE_...=...` lines to paste into a shell.
As a fleet's Monite in its own process: `--rate-limit 30 --token-lifetime 3` (30 requests per
second per client id, every token of it and its token requests counted together; 3 s tokens).
"""

from __future__ import annotations

import argparse
import errno
import shlex
import sys
from collections.abc import Sequence

import uvicorn

from ._fake import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeMonite
from ._server import LOOPBACK, bind_loopback


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m monite_async.testing",
        description="Serve a fake Monite (tokens and mailbox domains) on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8080, help="TCP port on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--token-lifetime", type=float, default=3600.0, help="seconds a token lives")
    parser.add_argument("--stale-token-status", type=int, choices=(400, 401), default=401)
    parser.add_argument("--verify-after", type=int, default=2, help="verify calls until a domain is verified")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=None,
        help="requests per second per client id, token requests included, before 429 with Retry-After",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        fake = FakeMonite(
            client_id=args.client_id,
            client_secret=args.client_secret,
            token_lifetime=args.token_lifetime,
            stale_token_status=args.stale_token_status,
            verify_after=args.verify_after,
            rate_limit=args.rate_limit,
        )
        sock = bind_loopback(args.port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            # Most often a fake started earlier still runs there.
            print(
                f"error: port {args.port} on {LOOPBACK} is already in use (another fake Monite?): "
                "pass --port 0 to let the system pick a free port, or another --port",
                file=sys.stderr,
            )
        else:
            print(f"error: cannot listen on {LOOPBACK}:{args.port}: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    base_url = f"http://{LOOPBACK}:{port}/v1"
    # The fake's own test credentials: printing them is the point (they open nothing real).
    print(
        f"Fake Monite at {base_url}; Ctrl-C stops it.\n"
        f"client ID:     {fake.client_id}\n"
        f"client secret: {fake.client_secret}\n"
        "To point monite_async, `make demo` or the `monite-async` command at it, paste:\n"
        f"export MONITE_CLIENT_ID={shlex.quote(fake.client_id)}\n"
        f"export MONITE_CLIENT_SECRET={shlex.quote(fake.client_secret)}\n"
        f"export MONITE_BASE_URL={shlex.quote(base_url)}",
        flush=True,
    )
    config = uvicorn.Config(fake.app, lifespan="off", log_level="info", http="h11")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
