"""Web pages and feeds as sources, over real HTTP on loopback (tests/news_site.py); nothing leaves the machine."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest

from rag.assistant import Assistant
from rag.core.config import FetchSettings
from tests.conftest import free_port
from tests.news_site import ARTICLES, BOILERPLATE, NewsSite, render


@pytest.fixture
def site():
    with NewsSite() as s:
        yield s


@pytest.fixture
def web_assistant(make_settings, embedder):
    def make(**fetch) -> Assistant:
        return Assistant(make_settings(fetch=FetchSettings(**{"timeout": 1.0, "max_mb": 1.0, **fetch})), embedder=embedder)

    return make


def _by_slug(assistant: Assistant, site: NewsSite) -> dict:
    return {a.source.rsplit("/", 1)[-1]: a for a in assistant.articles() if a.source.startswith(site.base)}


def test_pages_metadata_and_no_boilerplate(site, web_assistant):
    assistant = web_assistant()
    urls = [site.url(f"/news/{slug}") for slug in ("tram-line", "drought", "bakery")]
    report = assistant.ingest(urls)
    assert [f.status for f in report.files] == ["added"] * 3
    arts = _by_slug(assistant, site)
    for slug, art in arts.items():
        want = ARTICLES[slug]
        assert (art.title, art.author, art.published, art.site) == (
            want["title"], want["author"], date.fromisoformat(want["published"]), want["site"]
        ), slug
        assert art.url == art.source == site.url(f"/news/{slug}")
        text = assistant.article_text(art.source)
        assert all(p in text for p in want["paragraphs"]), slug
        leaked = [b for b in BOILERPLATE if b in text]
        assert not leaked, f"{slug}: boilerplate indexed: {leaked}"
    # The byline is in the text, so "who wrote..." is answered and cited from it.
    answer = assistant.ask("Who wrote the article about the Hill Street bakery closing?")
    assert "Aiko Tanaka" in answer.answer and answer.citations
    cited = answer.citations[0]
    assert (cited.url, cited.site, cited.published) == (site.url("/news/bakery"), "Hillside Herald", date(2025, 5, 20))


def test_feed_repoll_fetches_conditionally_and_adds_only_the_new_entry(site, web_assistant):
    assistant = web_assistant()
    first = assistant.ingest([site.url("/feed.xml")])
    assert sorted(f.status for f in first.files) == ["added"] * 3
    # Feed links carry ?utm_source=rss; the article is known by its canonical URL.
    assert {a.source for a in assistant.articles()} == {site.url(f"/news/{s}") for s in ("tram-line", "drought", "bakery")}

    site.publish("festival")
    site.requests.clear()
    again = assistant.ingest([site.url("/feed.xml")])
    assert sorted(f.status for f in again.files) == ["added", "unchanged", "unchanged", "unchanged"]
    added = next(f for f in again.files if f.status == "added")
    assert added.source == site.url("/news/festival") and again.chunks_embedded == added.chunks > 0
    article_hits = site.hits("/news/")
    assert len(article_hits) == 4, article_hits
    conditional = {path for path, headers in article_hits if "if-none-match" in headers}
    assert conditional == {"/news/tram-line", "/news/drought", "/news/bakery"}
    festival = _by_slug(assistant, site)["festival"]
    assert festival.published == date(2025, 6, 1) and festival.author == "Samuel Adeyemi"


def test_unchanged_feed_of_50_costs_one_conditional_request_per_entry(site, web_assistant):
    assistant = web_assistant()
    first = assistant.ingest([site.url("/feed50.xml")])
    assert first.count("added") == 50
    site.requests.clear()
    again = assistant.ingest([site.url("/feed50.xml")])
    assert again.count("unchanged") == 50 and again.chunks_embedded == 0
    wire = site.hits("/wire/")
    assert len(wire) == 50 and all("if-none-match" in h for _, h in wire)


def test_changed_page_replaces_its_old_version(site, web_assistant):
    assistant = web_assistant()
    url = site.url("/news/drought")
    assistant.ingest([url])
    old = ARTICLES["drought"]["paragraphs"][0]
    ARTICLES["drought"]["paragraphs"][0] = old.replace("38 percent", "41 percent")
    try:
        report = assistant.ingest([url])
    finally:
        ARTICLES["drought"]["paragraphs"][0] = old
    assert [f.status for f in report.files] == ["updated"]
    assert len(assistant.articles()) == 1
    hits = assistant.search("reservoir level at the end of March").passages
    assert any("41 percent" in p.text for p in hits) and not any("38 percent" in p.text for p in hits)


def test_bad_urls_each_say_why_and_lose_nothing(site, web_assistant):
    assistant = web_assistant()
    assistant.ingest([site.url("/news/tram-line")])
    before = {a.source: a.content_hash for a in assistant.articles()}
    dead = f"http://127.0.0.1:{free_port()}/news/x"
    bad = {
        "/missing": "HTTP 404",
        "/slow": "timed out",
        "/huge": "too large",
        "/image.png": "not a web page or feed (image/png)",
        "/loop-a": "redirects",
        "/private/story": "robots.txt",
    }
    report = assistant.ingest([site.url(p) for p in bad] + [dead, site.url("/moved")])
    outcomes = {f.path: f for f in report.files}
    for path, reason in bad.items():
        got = outcomes[site.url(path)]
        assert got.status == "skipped" and reason in got.reason, (path, got)
    assert outcomes[dead].status == "skipped" and "could not be reached" in outcomes[dead].reason
    # A redirect lands on the canonical article, already indexed and unchanged.
    assert outcomes[site.url("/moved")].status == "unchanged"
    assert {a.source: a.content_hash for a in assistant.articles()} == before

    allowed = assistant.ingest([site.url("/private/story")], respect_robots=False)
    assert [f.status for f in allowed.files] == ["added"]


def test_local_html_file_goes_through_the_same_extractor(tmp_path, site, web_assistant):
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "tram.html").write_text(render("tram-line", "https://gazette.example"), encoding="utf-8")
    assistant = web_assistant()
    assistant.ingest([folder])
    (art,) = assistant.articles()
    assert (art.source, art.title, art.author, art.published) == (
        "saved/tram.html", ARTICLES["tram-line"]["title"], "Maria Okafor", date(2025, 3, 14)
    )
    assert art.url == "https://gazette.example/news/tram-line"
    text = assistant.article_text(art.source)
    assert not [b for b in BOILERPLATE if b in text]


def test_since_and_until_filter_search_and_answers(site, web_assistant):
    assistant = web_assistant()
    site.publish("festival")
    assistant.ingest([site.url("/feed.xml")])
    question = "What is happening at the Riverside harbour?"
    newer = {p.source for p in assistant.search(question, since="2025-04-01").passages}
    older = {p.source for p in assistant.search(question, until=date(2025, 4, 1)).passages}
    assert newer and all(ARTICLES[s.rsplit("/", 1)[1]]["published"] >= "2025-04-01" for s in newer)
    assert older == {site.url("/news/tram-line")}
    empty = assistant.ask(question, since="2030-01-01")
    assert empty.abstained and "2030-01-01" in empty.reason
    with pytest.raises(Exception, match="YYYY-MM-DD"):
        assistant.search(question, since="last tuesday")


def test_latest_question_prefers_newer_articles_and_says_the_date(site, web_assistant):
    assistant = web_assistant()
    site.publish("festival")
    assistant.ingest([site.url("/feed.xml")])
    plain = assistant.search("Riverside harbour").passages
    latest = assistant.search("What is the latest news from the Riverside harbour?").passages
    assert plain[0].source == site.url("/news/tram-line")
    assert latest[0].source == site.url("/news/festival")
    answer = assistant.ask("What is the latest on the Riverside harbour jazz festival?")
    assert not answer.abstained, answer.reason
    assert "published on June 1, 2025" in answer.answer


def _rag(*args, data_dir, env=None):
    import os

    return subprocess.run(
        [sys.executable, "-m", "rag", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "LLM_PROVIDER": "extractive", **(env or {})},
    )


def test_cli_ingest_urls_and_dates(site, tmp_path):
    data = tmp_path / "data"
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# two articles\n{site.url('/news/tram-line')}\n\n{site.url('/missing')}\n")
    done = _rag("ingest", site.url("/news/drought"), "--urls", str(listing), data_dir=data)
    assert done.returncode == 1, done.stderr  # one URL failed
    assert f"added  {site.url('/news/drought')}" in done.stderr.replace("    added", "added")
    assert f"skipped  {site.url('/missing')}: HTTP 404" in done.stderr.replace("  skipped", "skipped")
    listed = json.loads(_rag("sources", "--json", data_dir=data).stdout)
    assert {a["published"] for a in listed} == {"2025-03-14", "2025-04-02"}
    found = json.loads(_rag("search", "--json", "--since", "2025-04-01", "water shortage", data_dir=data).stdout)
    assert {p["source"] for p in found["passages"]} == {site.url("/news/drought")}
    assert found["passages"][0]["site"] == "Valley Courier" and found["passages"][0]["published"] == "2025-04-02"
    bad = _rag("search", "--until", "soon", "water", data_dir=data)
    assert bad.returncode != 0 and "YYYY-MM-DD" in bad.stderr


def test_requests_to_one_host_are_limited(site, web_assistant):
    site.wire_delay = 0.15
    assistant = web_assistant(per_host=2, workers=8)
    report = assistant.ingest([site.url("/feed50.xml")])
    assert report.count("added") == 50
    # Concurrent, but never more than two at once to the one host.
    assert site.wire_peak == 2


def test_atom_feed_and_rss_name_the_same_articles(site, web_assistant):
    assistant = web_assistant()
    report = assistant.ingest([site.url("/atom.xml")])
    assert sorted(f.status for f in report.files) == ["added"] * 3
    again = assistant.ingest([site.url("/feed.xml")])  # RSS links carry tracking parameters: same articles
    assert sorted(f.status for f in again.files) == ["unchanged"] * 3 and again.chunks_embedded == 0
