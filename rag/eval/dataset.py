"""Question sets: JSONL or CSV rows of id, question, accepted answers and supporting sources (tests/data/FORMAT.md)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from rag.core.errors import RagError


class DatasetError(RagError):
    """The question set cannot be read (the message names the file and line)."""


# --------------------------------------------------------------------------- dataset


class EvalItem(BaseModel):
    id: str
    question: str
    answers: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def _string_list(value: Any, field: str, where: str, csv_cell: bool = False) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if csv_cell:
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{where}: column '{field}' looks like a JSON array but is not valid JSON ({exc.msg}).") from None
            else:
                return [part.strip() for part in text.split("|") if part.strip()]
        else:
            return [text]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
        raise DatasetError(f"{where}: '{field}' must be a list of strings, got {json.dumps(value)[:80]}.")
    return [str(v).strip() for v in value if str(v).strip()]


def _item(record: Any, where: str, fallback_id: str, csv_cells: bool = False) -> EvalItem:
    if not isinstance(record, dict):
        raise DatasetError(f"{where}: expected a JSON object with 'question', 'answers' and 'sources'.")
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError(f"{where}: 'question' is missing or empty.")
    raw_id = record.get("id")
    qid = str(raw_id).strip() if raw_id not in (None, "") else fallback_id
    return EvalItem(
        id=qid,
        question=question.strip(),
        answers=_string_list(record.get("answers"), "answers", where, csv_cells),
        sources=_string_list(record.get("sources"), "sources", where, csv_cells),
    )


def _read_jsonl(text: str, name: str) -> list[EvalItem]:
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{name} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}).") from None
        items.append(_item(record, where, f"line-{number}"))
    return items


def _read_json_array(text: str, name: str) -> list[EvalItem]:
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{name} line {exc.lineno}: not valid JSON ({exc.msg}).") from None
    if not isinstance(records, list):
        raise DatasetError(f"{name}: expected a JSON array of question objects (or JSONL, one object a line).")
    return [_item(r, f"{name} item {i}", f"item-{i}") for i, r in enumerate(records, 1)]


def _read_csv(text: str, name: str) -> list[EvalItem]:
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "question" not in fields:
        raise DatasetError(f"{name} line 1: the CSV header must name a 'question' column (and 'id', 'answers', 'sources').")
    items = []
    line = reader.line_num  # the header's last line
    try:
        for row in reader:
            start, line = line + 1, reader.line_num
            where = f"{name} line {start}"
            if None in row:
                raise DatasetError(f"{where}: more cells than header columns (quote cells that contain commas).")
            record = {(k or "").strip().lower(): v for k, v in row.items()}
            if not any((v or "").strip() for v in record.values()):
                continue
            items.append(_item(record, where, f"line-{start}", csv_cells=True))
    except csv.Error as exc:
        raise DatasetError(f"{name} line {reader.line_num}: {exc}.") from None
    return items


def load_dataset(path: str | Path) -> list[EvalItem]:
    """Questions from a .jsonl / .json / .csv file; `DatasetError` names the bad line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"No question set at {path}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"Cannot read {path}: {exc}") from None
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        items = _read_csv(text, path.name)
    elif suffix == ".json" and text.lstrip().startswith("["):
        items = _read_json_array(text, path.name)
    else:
        items = _read_jsonl(text, path.name)
    return _checked(items, str(path))


def _checked(items: list[EvalItem], name: str) -> list[EvalItem]:
    if not items:
        raise DatasetError(f"{name} holds no questions.")
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise DatasetError(f"{name}: the id '{item.id}' appears twice; ids must be unique.")
        seen.add(item.id)
    return items


def _coerce_items(data: str | Path | Iterable[EvalItem | dict]) -> list[EvalItem]:
    if isinstance(data, (str, Path)):
        return load_dataset(data)
    items = []
    for i, record in enumerate(data, 1):
        items.append(record if isinstance(record, EvalItem) else _item(record, f"item {i}", f"item-{i}"))
    return _checked(items, "the question list")


# --------------------------------------------------------------------------- answer matching
