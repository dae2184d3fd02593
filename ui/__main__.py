"""`python -m ui [--host HOST] [--port PORT]`: serve the chat page for the index in RAG_DATA_DIR."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui", description="Serve the Newsdesk chat page.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--no-auth", action="store_true", help="serve beyond loopback without a login")
    args = parser.parse_args(argv)

    from rag.assistant import Assistant
    from rag.core.config import Settings
    from rag.core.errors import RagError

    from .app import serve

    try:
        return serve(Assistant(Settings()), host=args.host, port=args.port, no_auth=args.no_auth)
    except RagError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
