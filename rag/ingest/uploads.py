"""Files sent through the web page or the HTTP API: checked, named safely, kept under the uploads folder.

Whatever name a client sends (`../../etc/passwd`, an absolute path, a NUL byte, 5,000 characters,
`A.txt` beside `a.txt`), the file lands as `$RAG_DATA_DIR/uploads/<safe name>` and is indexed as
`uploads/<safe name>`; a different file under a taken name gets `-2`, `-3`... Nothing outside the
uploads folder is ever written or overwritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rag.core.errors import DocumentError

EXTENSIONS = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
MAX_STEM = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file name that is safe to create in the uploads folder, or DocumentError with a readable reason.

    Directories are stripped (both / and \\), every character outside [A-Za-z0-9._-] becomes "_",
    leading dots go, the stem is cut to MAX_STEM characters, and only article extensions are accepted.
    """
    base = PurePosixPath((name or "").replace("\\", "/").replace("\x00", "")).name
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = "." + ext.lower() if ext else ""
    if ext not in EXTENSIONS:
        raise DocumentError(f"unsupported file type '{ext[:12] or '(none)'}'; allowed: {' '.join(EXTENSIONS)}")
    # No leading dot (hidden files are skipped by ingest), no runs of "_".
    stem = re.sub(r"_+", "_", _UNSAFE.sub("_", stem)).strip("._-")[:MAX_STEM] or "article"
    return stem + ext


@dataclass
class Saved:
    original: str  # the name as sent
    path: Path


def save(folder: Path, name: str, data: bytes, max_bytes: int) -> Saved:
    """Writes `data` as a new file in `folder` (an identical file already there is reused)."""
    if len(data) > max_bytes:
        raise DocumentError(f"{len(data) / 1024 / 1024:.1f} MB is over the {max_bytes / 1024 / 1024:g} MB limit")
    if not data:
        raise DocumentError("the file is empty")
    folder.mkdir(parents=True, exist_ok=True)
    home = folder.resolve()
    dest = _free_destination(home, safe_name(name), data)
    if dest.parent != home:  # cannot happen with a safe name; never write elsewhere if it did
        raise DocumentError("refused: the name leads outside the uploads folder")
    if not dest.exists():
        dest.write_bytes(data)
    return Saved(name, dest)


def _free_destination(folder: Path, name: str, data: bytes) -> Path:
    """`folder/name`, or `name-2`, `name-3`... when a different file has that name (compared ignoring case,
    so names that differ only in case never meet on a case-insensitive disk either)."""
    taken = {p.name.lower(): p for p in folder.iterdir()}
    stem, ext = Path(name).stem, Path(name).suffix
    candidate, i = name, 1
    while candidate.lower() in taken and taken[candidate.lower()].read_bytes() != data:
        i += 1
        candidate = f"{stem}-{i}{ext}"
    return taken.get(candidate.lower(), folder / candidate)
