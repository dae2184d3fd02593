"""Routes for the articles: list them, upload files to index, remove one."""

from __future__ import annotations

from fastapi import APIRouter, Request, UploadFile
from starlette.exceptions import HTTPException

router = APIRouter()


@router.get("/api/sources")
def sources(request: Request):
    return [a.model_dump(mode="json") for a in request.app.state.assistant.articles()]


@router.post("/api/documents")
def upload(files: list[UploadFile], request: Request):
    """Multipart upload of articles: saved under the uploads folder whatever their names, then indexed."""
    report = request.app.state.assistant.upload([(f.filename or "upload", f.file.read()) for f in files])
    return report.model_dump(mode="json")


@router.delete("/api/documents/{source:path}")
def remove(source: str, request: Request):
    if not request.app.state.assistant.remove(source):
        raise HTTPException(404, f"No indexed article named '{source}'.")
    return {"removed": source}
