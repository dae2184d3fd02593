"""Questions while the news flows: concurrent `rag api` clients during continuous ingestion by `rag watch`.

    python bench/bench_live.py [--clients 20] [--seconds 120] [--rate 1] [--answerer extractive|local]

Real processes on one embedded index (`tests/live_load.py`): `rag watch` follows a folder that receives
`--rate` new articles a second and a feed on the loopback news site; `--clients` threads ask through
`rag api` without pause. Printed: requests, errors, answer latency p50/p95, how long after a new article
is listed an answer cites it (median and worst), and whether every quote matches the committed text.

A benchmark, not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.live_load import run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--answerer", choices=["extractive", "local"], default="extractive")
    args = parser.parse_args()
    env = {"LLM_PROVIDER": args.answerer}
    if args.answerer == "local":
        # The processes run on a fresh data dir: point them at the model this checkout installed.
        from rag import Settings
        from rag.assistant import local_model_file

        settings = Settings()
        env["LOCAL_MODEL_PATH"] = str(settings.llm.local_model_path or local_model_file(settings))
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        result = run(Path(tmp), args.clients, args.seconds, args.rate, env=env, timeout_s=900,
                     log=lambda line: print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True))
    s = result.summary()
    faithful = all(result.committed.get(src, "")[a:b] == q for src, a, b, q in result.cited)
    print(f"answerer {args.answerer}, {args.clients} clients, {args.rate:g} article/s for {args.seconds:.0f} s")
    print(f"  requests {s['requests']}, errors {s['errors']}, answer latency p50 {s['p50_s']:.2f} s, p95 {s['p95_s']:.2f} s")
    print(f"  articles written {s['articles_written']}, probed {s['probed']}: answerable after listing median "
          f"{s['answerable_median_s']:.2f} s, worst {s['answerable_max_s']:.2f} s")
    print(f"  citations {len(result.cited)}, all quotes match the committed text: {faithful}")
    for error in result.errors[:5]:
        print(f"  error: {error}")


if __name__ == "__main__":
    main()
