"""`rag eval` / `rag.eval`: dataset reading, answer matching, metrics, CLI outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag import Assistant
from rag.cli import main as cli_main
from rag.core.config import LLMSettings, Settings
from rag.eval.dataset import DatasetError, load_dataset
from rag.eval.metrics import EvalReport, answer_matches, normalize, percentile
from rag.eval.run import evaluate
from tests.conftest import DEV_SET, REPO, SEEDS

DEV = [json.loads(line) for line in DEV_SET.read_text().splitlines() if line.strip()]
RATES = ("hit_at_1", "hit_at_3", "hit_at_5", "hit_at_10", "mrr_at_10", "answer_accuracy", "abstention_accuracy",
         "false_abstention_rate", "citation_validity")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, embedder):
    """The five seed articles, ingested once for the module."""
    path = tmp_path_factory.mktemp("eval") / "data"
    assistant = Assistant(Settings(data_dir=path, llm=LLMSettings(provider="extractive")), embedder=embedder)
    report = assistant.ingest([SEEDS])
    assert report.count("added") == 5 and not report.failed
    return path


@pytest.fixture(scope="module")
def assistant(data_dir, embedder):
    return Assistant(Settings(data_dir=data_dir, llm=LLMSettings(provider="extractive")), embedder=embedder)


@pytest.fixture(scope="module")
def dev_report(assistant) -> EvalReport:
    return evaluate(assistant, DEV_SET)


def small_set(tmp_path, ids=("seed-d-001", "seed-d-005", "seed-d-014")):
    path = tmp_path / "small.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in DEV if q["id"] in ids) + "\n")
    return path


def cli_env(data_dir) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_"))}
    env.update(RAG_LLM_PROVIDER="extractive", RAG_DATA_DIR=str(data_dir), ANONYMIZED_TELEMETRY="False",
               PYTHONPATH=str(REPO))
    return env


# --- answer matching -------------------------------------------------------------------------------


def test_normalize_drops_punctuation_and_case():
    assert normalize("  Open-Source,\n\tSAFETY!  ") == "open source safety"
    assert normalize("It’s “suffocating.”") == "it s suffocating"
    assert normalize("$14.3 billion") == "14.3 billion"
    assert normalize("6,000 workers") == "6000 workers"


def test_answer_matching_uses_word_boundaries():
    assert answer_matches("Meta laid off 600 workers.", ["600"])
    assert not answer_matches("Meta laid off 6000 workers.", ["600"])
    assert not answer_matches("Meta laid off 6,000 workers.", ["600"])
    assert not answer_matches("It was 1600 in all.", ["600"])
    assert not answer_matches("The pacemaker", ["pace"])
    assert answer_matches("Its PACE of release...", ["pace"])
    assert not answer_matches("a $14.3 billion stake", ["3 billion"])
    assert answer_matches("a $14.3 billion stake", ["14 billion", "14.3 billion"])
    assert answer_matches("packages worth $100 million", ["$100"])
    assert answer_matches("the open vs closed debate", ["open vs. closed"])
    assert answer_matches("an open-source strategy", ["open source"])
    assert answer_matches("Described as  “suffocating”.", ["Suffocating"])
    assert not answer_matches("anything", [])
    assert not answer_matches("anything", ["", "  "])


def test_percentile_interpolates():
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)


# --- datasets --------------------------------------------------------------------------------------


def test_load_jsonl_dev_set():
    items = load_dataset(DEV_SET)
    assert [i.id for i in items] == [q["id"] for q in DEV]
    assert sum(i.answerable for i in items) == 13


def test_load_csv_json_arrays_and_pipes(tmp_path):
    path = tmp_path / "qs.csv"
    path.write_text(
        'id,question,answers,sources\n'
        'a,"How much did Meta pay, reportedly?","[""14 billion"", ""14.3 billion""]",000_c3e6291cb7289f16.txt|002_df5f0429dc29c490.txt\n'
        'b,Who is Nat Friedman?,GitHub,000_c3e6291cb7289f16.txt\n'
        'c,What is the release date of the Avocado model?,,\n'
    )
    items = load_dataset(path)
    assert [i.id for i in items] == ["a", "b", "c"]
    assert items[0].answers == ["14 billion", "14.3 billion"]
    assert items[0].sources == ["000_c3e6291cb7289f16.txt", "002_df5f0429dc29c490.txt"]
    assert items[1].answers == ["GitHub"] and items[2].answers == [] and not items[2].answerable


@pytest.mark.parametrize(
    "content, line, words",
    [
        ('{"id": "a", "question": "q?", "answers": [], "sources": []}\n{"id": "b", "question": \n', 2, "not valid JSON"),
        ('{"id": "a", "question": "q?"}\n\n{"id": "b", "answers": ["x"]}\n', 3, "question"),
        ('{"id": "a", "question": "q?", "answers": "x", "sources": {"a": 1}}\n', 1, "sources"),
        ('["not", "an", "object"]\n', 1, "JSON object"),
    ],
)
def test_malformed_jsonl_names_the_line(tmp_path, content, line, words):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DatasetError, match=rf"bad.jsonl line {line}: .*{words}"):
        load_dataset(path)


def test_malformed_csv_names_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text('id,question,answers,sources\na,Who?,x,\nb,,y,\n')
    with pytest.raises(DatasetError, match=r"bad.csv line 3: .*question"):
        load_dataset(path)
    path.write_text('id,question,answers,sources\na,Who?,"[""x"",",\n')
    with pytest.raises(DatasetError, match=r"bad.csv line 2: .*answers.*JSON"):
        load_dataset(path)


def test_duplicate_ids_and_missing_file(tmp_path):
    path = tmp_path / "dup.jsonl"
    path.write_text('{"id": "a", "question": "x?"}\n{"id": "a", "question": "y?"}\n')
    with pytest.raises(DatasetError, match="twice"):
        load_dataset(path)
    with pytest.raises(DatasetError, match="No question set"):
        load_dataset(tmp_path / "missing.jsonl")


# --- metrics on the dev set ------------------------------------------------------------------------


def test_dev_set_metrics_are_sane(dev_report):
    m = dev_report.metrics
    assert dev_report.n == len(DEV) == len(dev_report.per_question)
    assert (m.answerable, m.unanswerable, m.errors) == (13, 2, 0)
    assert m.provider == "extractive" and m.mode == "hybrid" and not m.retrieval_only
    for key in RATES:
        value = getattr(m, key)
        assert value is not None and 0.0 <= value <= 1.0, key
    assert m.hit_at_1 <= m.hit_at_3 <= m.hit_at_5 <= m.hit_at_10
    assert m.hit_at_5 >= 0.9
    assert 0 < m.mrr_at_10 <= 1
    assert m.answer_accuracy + m.false_abstention_rate <= 1.0 + 1e-9
    assert 0 < m.retrieve_ms_p50 <= m.retrieve_ms_p95
    assert 0 < m.total_ms_p50 <= m.total_ms_p95


def test_per_question_results_are_consistent(dev_report):
    by_id = {r.id: r for r in dev_report.per_question}
    for q in DEV:
        r = by_id[q["id"]]
        assert r.question == q["question"] and r.answer and r.total_ms > 0
        if q["answers"]:
            assert r.correct == (not r.abstained and answer_matches(r.answer, q["answers"]))
            assert r.hit_rank is None or 1 <= r.hit_rank <= 10
        else:
            assert r.correct == r.abstained and r.hit_rank is None
    m = dev_report.metrics
    answerable = [r for r in dev_report.per_question if r.answerable]
    assert m.answer_accuracy == pytest.approx(sum(bool(r.correct) for r in answerable) / len(answerable))
    assert m.mrr_at_10 == pytest.approx(sum(1 / r.hit_rank for r in answerable if r.hit_rank) / len(answerable))
    # The report serialises to the --json shape.
    data = json.loads(dev_report.model_dump_json())
    assert set(data) == {"n", "metrics", "per_question"}
    assert {"id", "question", "answer", "abstained", "correct", "hit_rank", "citations_valid", "total_ms"} <= set(data["per_question"][0])


def test_evaluate_accepts_items_and_retrieval_only(assistant):
    items = [q for q in DEV if q["id"] in ("seed-d-005", "seed-d-010", "seed-d-015")]
    report = evaluate(assistant, items, retrieval_only=True, mode="bm25")
    m = report.metrics
    assert report.n == 3 and m.retrieval_only and m.mode == "bm25"
    assert m.hit_at_10 == 1.0 and m.retrieve_ms_p50 > 0
    assert m.answer_accuracy is None and m.abstention_accuracy is None and m.total_ms_p50 is None
    assert all(r.answer is None and r.correct is None for r in report.per_question)


def test_evaluate_csv_input(assistant, tmp_path):
    path = tmp_path / "qs.csv"
    path.write_text(
        "id,question,answers,sources\n"
        "layoffs,How many workers did Meta lay off from its AI teams?,600,000_c3e6291cb7289f16.txt\n"
        "avocado,What is the release date of the Avocado model?,,\n"
    )
    report = evaluate(assistant, path)
    assert report.n == 2 and report.metrics.answerable == 1 and report.metrics.unanswerable == 1
    assert report.metrics.hit_at_10 == 1.0
    assert report.metrics.answer_accuracy is not None and report.metrics.abstention_accuracy is not None


# --- CLI -------------------------------------------------------------------------------------------


def test_cli_eval_json_and_out(data_dir, tmp_path):
    out = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "rag", "--data-dir", str(data_dir), "eval", str(small_set(tmp_path)), "--json", "--out", str(out)],
        capture_output=True, text=True, env=cli_env(data_dir), cwd=tmp_path, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"n", "metrics", "per_question"} and data["n"] == 3
    assert data["metrics"]["provider"] == "extractive" and data["metrics"]["hit_at_5"] is not None
    assert {p.name for p in out.iterdir()} >= {"report.json", "per_question.csv", "report.html"}
    assert json.loads((out / "report.json").read_text()) == data
    import csv

    rows = list(csv.reader((out / "per_question.csv").open(newline="")))  # an answer may span lines
    assert rows[0][:2] == ["id", "question"] and len(rows) == 4
    page = (out / "report.html").read_text()
    assert page.count("<svg") >= 2 and "answer accuracy" in page and "seed-d-005" in page


def test_cli_eval_table(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RAG_LLM_PROVIDER", "extractive")
    assert cli_main(["--data-dir", str(data_dir), "eval", str(small_set(tmp_path, ("seed-d-005",))), "-q"]) == 0
    out = capsys.readouterr().out
    for label in ("retrieval hit@1", "MRR@10", "answer accuracy", "false-abstention rate", "citation validity", "answer p95 (ms)"):
        assert label in out


def test_cli_eval_compare_retrieval_only(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RAG_LLM_PROVIDER", "extractive")
    args = ["--data-dir", str(data_dir), "eval", str(DEV_SET), "--compare", "--retrieval-only", "-q"]
    assert cli_main(args + ["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["dense", "bm25", "hybrid"]
    for mode, report in data.items():
        assert report["metrics"]["mode"] == mode and report["n"] == len(DEV)
        assert report["metrics"]["hit_at_10"] >= 0.9 and report["metrics"]["answer_accuracy"] is None
    assert cli_main(args) == 0
    header = next(line for line in capsys.readouterr().out.splitlines() if "metric" in line)
    assert header.split()[1:] == ["dense", "bm25", "hybrid"]


def test_cli_eval_bad_dataset_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "question": "q?"}\n{oops}\n')
    assert cli_main(["--data-dir", str(tmp_path / "data"), "eval", str(path)]) == 1
    err = capsys.readouterr().err
    assert "bad.jsonl line 2" in err and "Traceback" not in err
