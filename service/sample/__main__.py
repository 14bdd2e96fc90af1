# Copyright 2026 chat-import-service contributors
"""``python -m service.sample``: regenerate the shipped sample export and its expectations."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from service.sample.generator import DEFAULT_NOW
from service.sample.shipped import SAMPLE_DIR, write_sample

if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Write the sample files; with no options, rewrite the committed ones identically."""
    parser = argparse.ArgumentParser(prog="python -m service.sample", description=__doc__)
    parser.add_argument("--out", default=str(SAMPLE_DIR), help="directory to write into")
    parser.add_argument("--groups", type=int, default=60, help="valid groups")
    parser.add_argument("--messages", type=int, default=6000, help="valid messages")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--now", type=int, default=DEFAULT_NOW, help="Unix time all SendTimes precede"
    )
    parser.add_argument("--no-invalid", action="store_true", help="leave out the invalid records")
    options = parser.parse_args(argv)
    settings = {
        "groups": options.groups,
        "messages": options.messages,
        "seed": options.seed,
        "now": options.now,
        "invalid": not options.no_invalid,
    }
    for path in write_sample(options.out, settings):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
