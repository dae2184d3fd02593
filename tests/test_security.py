"""The API and the web page protected: trusted hosts, CORS, body limits, login (real servers on loopback)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from rag import Assistant, Settings
from rag.core.config import LLMSettings
from rag.core.errors import ConfigError
from rag.core.security import ui_credentials
from tests.conftest import SEEDS, free_port
from tests.test_api import Server


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, embedder):
    data = tmp_path_factory.mktemp("security") / "data"
    assistant = Assistant(Settings(data_dir=data, llm=LLMSettings(provider="extractive")), embedder=embedder)
    assistant.ingest([SEEDS])
    return assistant


def api(assistant, **overrides):
    from rag.api import create_app

    settings = assistant.settings.model_copy(update=overrides)
    twin = Assistant(settings, embedder=assistant.embedder, store=assistant.store, llm=None)
    return Server(create_app(twin))


def test_foreign_host_header_is_refused(assistant):
    with api(assistant) as server:
        ok = httpx.get(f"{server.url}/health")
        assert ok.status_code == 200
        rebound = httpx.get(f"{server.url}/health", headers={"Host": "evil.example"})
        assert rebound.status_code == 400
        asked = httpx.post(f"{server.url}/api/ask", json={"question": "Who is Nat Friedman?"}, headers={"Host": "evil.example:80"})
        assert asked.status_code == 400


def test_listed_host_is_accepted(assistant):
    with api(assistant, trusted_hosts=["news.internal"]) as server:
        assert httpx.get(f"{server.url}/health", headers={"Host": "news.internal"}).status_code == 200
        assert httpx.get(f"{server.url}/health").status_code == 400  # 127.0.0.1 is not in the list given


PREFLIGHT = {"Origin": "https://news.example", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "content-type"}


def test_cors_closed_by_default(assistant):
    with api(assistant) as server:
        pre = httpx.options(f"{server.url}/api/ask", headers=PREFLIGHT)
        assert "access-control-allow-origin" not in pre.headers
        assert pre.status_code in (400, 405)
        simple = httpx.get(f"{server.url}/api/sources", headers={"Origin": "https://news.example"})
        assert "access-control-allow-origin" not in simple.headers


def test_cors_open_to_the_origins_named(assistant):
    with api(assistant, api_cors_origins=["https://news.example"]) as server:
        pre = httpx.options(f"{server.url}/api/ask", headers=PREFLIGHT)
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "https://news.example"
        other = httpx.options(f"{server.url}/api/ask", headers={**PREFLIGHT, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_oversized_body_is_refused_before_it_is_read(assistant):
    with api(assistant, api_max_body_bytes=4096) as server:
        big = {"question": "x" * 10_000}
        by_length = httpx.post(f"{server.url}/api/ask", json=big)
        assert by_length.status_code == 413 and "too large" in by_length.json()["error"]["message"]

        def chunked():
            for _ in range(100):
                yield b'{"question": "' + b"y" * 1000

        streamed = httpx.post(f"{server.url}/api/ask", content=chunked(), headers={"Content-Type": "application/json"})
        assert streamed.status_code == 413
        small = httpx.post(f"{server.url}/api/search", json={"question": "Who is Nat Friedman?"})
        assert small.status_code == 200  # the limit leaves ordinary requests alone


def test_upload_through_the_api_stays_under_uploads(assistant, tmp_path):
    with api(assistant) as server:
        files = [("files", (name, b"The harbour story\n\nThe harbour reopened on Monday after repairs.", "text/plain"))
                 for name in ("../../../etc/evil.txt", "/abs/path/x.txt", "a\x00b.txt")]
        done = httpx.post(f"{server.url}/api/documents", files=files)
        assert done.status_code == 200, done.text
        statuses = [f["status"] for f in done.json()["files"]]
        assert statuses.count("added") == 1 and statuses.count("duplicate") == 2  # same text, indexed once
        home = assistant.settings.uploads_dir.resolve()
        names = sorted(p.name for p in home.iterdir())
        assert len(names) == 3 and {"evil.txt", "x.txt"} <= set(names) and all("\x00" not in n for n in names)
        source = next(f["source"] for f in done.json()["files"] if f["status"] == "added")
        assert source.startswith("uploads/")
        assert httpx.delete(f"{server.url}/api/documents/{source}").status_code == 200
        assert httpx.delete(f"{server.url}/api/documents/{source}").status_code == 404


def test_ui_login_rules():
    def s(**kw):
        return Settings(**kw)

    assert ui_credentials(s(), "127.0.0.1")[0] is None
    with pytest.raises(ConfigError, match="RAG_UI_AUTH"):
        ui_credentials(s(), "0.0.0.0")
    # The HTTP API's key never opens the page.
    with pytest.raises(ConfigError):
        ui_credentials(s(api_key="k" * 16), "0.0.0.0")
    users, line = ui_credentials(s(ui_auth="ann:pw1, bo:pw2"), "0.0.0.0")
    assert users == [("ann", "pw1"), ("bo", "pw2")] and "login required" in line
    assert ui_credentials(s(ui_auth="none"), "0.0.0.0")[0] is None
    assert ui_credentials(s(), "0.0.0.0", no_auth=True)[0] is None
    with pytest.raises(ConfigError, match="user:password"):
        ui_credentials(s(ui_auth="justaname"), "0.0.0.0")


def _rag_serve(data_dir, *args, env=None):
    return subprocess.Popen(
        [sys.executable, "-m", "rag", "--data-dir", str(data_dir), "serve", *args],
        env={**os.environ, "LLM_PROVIDER": "extractive", **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_serve_beyond_loopback_without_login_refuses_to_start(assistant):
    proc = _rag_serve(assistant.settings.data_dir, "--host", "0.0.0.0", "--port", str(free_port()))
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "RAG_UI_AUTH" in out and "--no-auth" in out


def test_page_with_login_refuses_anonymous_calls(assistant):
    port = free_port()
    proc = _rag_serve(assistant.settings.data_dir, "--port", str(port), env={"RAG_UI_AUTH": "ann:secret-pw"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(url, timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and proc.poll() is None, "rag serve did not start"
                time.sleep(0.5)
        assert httpx.get(f"{url}/config").status_code == 401  # the app's config needs a login
        login = httpx.post(f"{url}/login", data={"username": "ann", "password": "wrong"})
        assert login.status_code == 400
        client = httpx.Client()
        assert client.post(f"{url}/login", data={"username": "ann", "password": "secret-pw"}).status_code == 200
        assert client.get(f"{url}/config").status_code == 200
        assert httpx.get(url, headers={"Host": "evil.example"}).status_code == 400
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "login required (1 user from RAG_UI_AUTH)" in out
