"""Start-up: wall time of cold `rag` processes, as a user or a harness that shells out pays it.

    python bench/bench_startup.py [--runs 5]

Indexes seeds/ into a temporary data dir once, then times `rag --help`, `rag sources` and
`rag ask --provider extractive` with an amount question and a name question (a fresh process each run)
and prints the median and the slowest run beside the targets (2 cores: 0.5 s, 2 s, 3 s). Also prints which heavy libraries each command
loaded, from `python -X importtime`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("llama_index", "chromadb", "openai", "onnxruntime", "gradio", "fastapi", "bm25s", "pydantic_settings", "spacy")
QUESTION = "How much did Meta reportedly pay for its stake in Scale AI?"
# A question asking for a name loads the entity tagger's spaCy model (an amount is found by pattern).
NAME_QUESTION = "Which company did Jennifer Newstead leave Meta for?"


def rag(*args: str) -> list[str]:
    return [sys.executable, "-m", "rag", *args]


def timed(cmd: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def loaded(cmd: list[str], env: dict) -> list[str]:
    """The heavy top-level packages a command imports (from -X importtime's report on stderr)."""
    out = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], env=env, cwd=REPO, capture_output=True, text=True)
    names = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    return [h for h in HEAVY if h in names]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "RAG_DATA_DIR": str(Path(tmp) / "data"), "LLM_PROVIDER": "extractive"}
        subprocess.run(rag("ingest", "-q", "seeds/"), env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        cases = [
            ("rag --help", rag("--help"), 0.5),
            ("rag sources", rag("sources"), 2.0),
            ("rag ask (extractive, seeds)", rag("ask", "--provider", "extractive", QUESTION), 3.0),
            ("rag ask, asking for a name", rag("ask", "--provider", "extractive", NAME_QUESTION), 3.0),
        ]
        print(f"{'command':<30}{'median s':>10}{'max s':>8}{'target s':>10}  ok   heavy libraries loaded")
        failed = 0
        for name, cmd, target in cases:
            timed(cmd, env)  # the first run warms the OS file cache, as any second call would find it
            runs = [timed(cmd, env) for _ in range(args.runs)]
            median = statistics.median(runs)
            ok = median <= target
            failed += not ok
            print(f"{name:<30}{median:>10.2f}{max(runs):>8.2f}{target:>10.1f}  {'yes' if ok else 'NO ':<4} "
                  f"{', '.join(loaded(cmd, env)) or '-'}")
    print(f"\n{os.cpu_count()} CPUs; {args.runs} runs each after one warm-up run")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
