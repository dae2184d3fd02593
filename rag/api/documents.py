"""Routes for the articles: list them, upload files to index, remove one."""

from __future__ import annotations

from fastapi import APIRouter, Request, UploadFile
from starlette.exceptions import HTTPException

from rag.core.models import also_published_by

router = APIRouter()


@router.get("/api/sources")
def sources(request: Request):
    articles = request.app.state.assistant.articles()
    also = also_published_by(articles)
    return [a.public(also.get(a.source, ())) for a in articles]


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
