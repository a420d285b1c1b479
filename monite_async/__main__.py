"""`python -m monite_async` and the `monite-async` console script: the same program.

Without the `cli` extra (click), it says which extra to install and exits 2.
"""

from __future__ import annotations

import importlib.util
import sys

_NO_CLICK = "monite-async needs the 'cli' extra: pip install '.[cli]' from a checkout of monite_async"


def main() -> None:
    """Run `monite_async.cli`, or explain how to install it."""
    if importlib.util.find_spec("click") is None:
        print(_NO_CLICK, file=sys.stderr)
        sys.exit(2)
    from .lib.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
