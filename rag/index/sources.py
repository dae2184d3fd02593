"""Source names: how an article is named in the index, so that two files never share a name.

A file in an ingested folder is `<folder name>/<path inside it>` (`seeds/000_x.txt`); a file given
alone is `<its folder's name>/<file name>`; an upload is `uploads/<name>`. A name is stable: a file
already indexed keeps the name it has. When a new file would take a name an article from another
path already has (two folders both called `news`), more of its path is used (`a/news/x.txt`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.core.models import Article

# Recorded on the corpus record; an index without it predates this naming.
NAMING = "folder/path-v2"


def chunk_id(source: str, digest: str, index: int) -> str:
    return f"{hashlib.sha1(source.encode()).hexdigest()[:16]}-{hash_prefix(digest)}-{index:05d}"


def hash_prefix(digest: str) -> str:
    """The part of an article's content hash its chunk ids carry."""
    return digest[:16]


def hash_of(chunk: str) -> str:
    """The content-hash prefix a chunk id carries."""
    return chunk.split("-")[1]


def base_name(path: Path, root: Path) -> str:
    """`<root's name>/<path inside root>`; the bare relative path when root has no name (`/`)."""
    rel = path.relative_to(root).as_posix()
    return f"{root.name}/{rel}" if root.name else rel


def assign(files: Iterable, articles: Sequence[Article]) -> None:
    """Sets each file's `source` (objects with `path` and `source`): its indexed name if it has one,
    else its base name, lengthened with parent folders until no other path has it."""
    by_path = {a.path: a.source for a in articles}
    owner = {a.source: a.path for a in articles}
    for f in files:
        path = str(f.path)
        if path in by_path:
            f.source = by_path[path]
            continue
        name, parts = f.source, f.path.parts
        depth = len(Path(name).parts)
        while owner.get(name, path) != path:
            depth += 1
            name = f.path.as_posix() if depth >= len(parts) else "/".join(parts[-depth:])
        owner[name] = path
        f.source = name


def resolve(names: Sequence[str], known: Iterable[str]) -> list[str]:
    """Indexed names for user-given ones: exact, else every indexed name ending in `/<name>`
    (so `000_x.txt` finds `seeds/000_x.txt`); an unknown name stays as given (it matches nothing)."""
    known = list(known)
    out: list[str] = []
    for name in names:
        if name in known:
            out.append(name)
        else:
            out += [k for k in known if k.endswith("/" + name)] or [name]
    return out
