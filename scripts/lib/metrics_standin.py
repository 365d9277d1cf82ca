#!/usr/bin/env python3
"""A metrics endpoint for the tests: serves the file --body on every GET as Prometheus text 0.0.4,
over TLS with --cert and --key. Prints its port, stops by itself after --lifetime seconds."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from standin_http import QuietHandler, serve  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--body", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--lifetime", type=float, default=120)
    args = parser.parse_args()

    class Handler(QuietHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            with open(args.body) as f:
                self.reply(200, f.read(), "text/plain; version=0.0.4; charset=utf-8")

    serve(Handler, args.lifetime, (args.cert, args.key) if args.cert else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
