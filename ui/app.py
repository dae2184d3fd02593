"""The Gradio page: a chat with streamed, cited answers, and the list of indexed articles.

A thin layer over `Assistant`: retrieval, prompting and citation checking all
happen there; this module wires events and `ui.render` draws the results.
Conversations live in per-session `gr.State`, never in module globals.
"""

from __future__ import annotations

import logging
import sys
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from rag.core.conversation import Conversation
from rag.core.errors import RagError
from rag.core.events import EvidenceFound, Final
from rag.core.metrics import MetricsMiddleware, watch_index
from rag.core.models import Answer, FileOutcome, Highlight
from rag.core.security import is_loopback, trusted_hosts, ui_credentials

from . import render

if TYPE_CHECKING:
    from rag.assistant import Assistant

log = logging.getLogger("newsdesk.ui")

EXAMPLES = [
    "How much did Meta reportedly pay for its stake in Scale AI?",
    "Who is Nat Friedman?",
    "Why is Alexandr Wang's appointment controversial?",
]
GENERIC_ERROR = "Something went wrong while answering. The error was logged on the server; please try again."
LOOPBACK_WARNING = "binding beyond loopback: anyone on the network can use this"

STATIC = Path(__file__).parent / "static"
CSS = (STATIC / "page.css").read_text()
# Runs once per page: citation badges scroll to their card; "open in article" links go to the Sources tab.
PAGE_JS = (STATIC / "page.js").read_text()
# After the viewer shows an article: bring the highlighted quote into view.
SCROLL_TO_MARK_JS = (STATIC / "scroll_to_mark.js").read_text()


def _new_session() -> dict:
    # Per browser session (deep-copied by gr.State): what is shown, and the conversation for follow-ups.
    return {"messages": [], "history": Conversation(), "turn": 0}


class _Handlers:
    """Event handlers bound to one Assistant; they hold no conversation themselves."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self._write_lock = threading.Lock()  # ingest/remove change the index: one at a time

    # --- chat ---

    def respond(self, question: str, session: dict | None, top_k, sources, since: str | None = None, until: str | None = None):
        session = session or _new_session()
        question = (question or "").strip()
        messages = list(session["messages"])
        turn = session["turn"] + 1
        if question:
            messages.append({"role": "user", "content": render.render_user(question)})
        messages.append({"role": "assistant", "content": render.render_partial("")})
        yield list(messages), {**session, "messages": list(messages), "turn": turn}, ""

        text = ""
        highlights: tuple[Highlight, ...] = ()
        evidence = ""  # the highlights as shown while the answer streams
        answer: Answer | None = None
        try:
            for event in self.assistant.stream(
                question,
                history=session["history"],
                sources=list(sources) if sources else None,
                top_k=int(top_k) if top_k else None,
                since=(since or "").strip() or None,
                until=(until or "").strip() or None,
            ):
                if isinstance(event, Final):
                    answer = event.answer  # rendered whole below, with its citations
                    break
                if isinstance(event, EvidenceFound):
                    highlights, evidence = event.highlights, render.render_evidence(event.highlights)
                else:
                    text += event.text
                messages[-1] = {"role": "assistant", "content": render.render_partial(text, evidence)}
                yield list(messages), {**session, "messages": list(messages), "turn": turn}, ""
        except RagError as e:
            messages[-1] = {"role": "assistant", "content": evidence + render.render_error(str(e))}
        except Exception:
            log.exception("answering %r failed", question)
            messages[-1] = {"role": "assistant", "content": evidence + render.render_error(GENERIC_ERROR)}
        else:
            if answer is None:  # the stream ended without its final Answer
                log.error("answering %r ended without an Answer", question)
                messages[-1] = {"role": "assistant", "content": render.render_error(GENERIC_ERROR)}
        history = session["history"]
        if answer is not None:
            folded = render.render_evidence(highlights, open_=False)
            messages[-1] = {"role": "assistant", "content": render.render_answer(answer, turn, folded)}
            history = history.add(question, answer.answer)
        yield messages, {"messages": messages, "history": history, "turn": turn}, ""

    def clear(self):
        return [], _new_session(), ""

    def api_ask(
        self,
        question: str,
        sources: list[str] | None = None,
        top_k: int | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> tuple[str, dict]:
        """Answer one question (no conversation). Returns the answer text and {abstained, citations, provider}.

        `since`/`until` (YYYY-MM-DD) keep articles published in that range."""
        try:
            answer = self.assistant.ask(
                question, sources=sources or None, top_k=top_k or None, since=since or None, until=until or None
            )
        except RagError as e:
            raise gr.Error(str(e), print_exception=False) from None
        except Exception:
            log.exception("api ask %r failed", question)
            raise gr.Error(GENERIC_ERROR, print_exception=False) from None
        return answer.answer, {
            "abstained": answer.abstained,
            "citations": [c.public() for c in answer.citations],
            "provider": answer.provider,
        }

    # --- sources ---

    def refresh(self, selected_sources, viewer_source, remove_source):
        try:
            articles = self.assistant.articles()
        except RagError as e:
            gr.Warning(str(e))
            articles = []
        known = {a.source for a in articles}
        choices = render.article_choices(articles)
        keep = [s for s in (selected_sources or []) if s in known]
        return (
            render.article_rows(articles),
            gr.Dropdown(choices=choices, value=keep),
            gr.Dropdown(choices=choices, value=viewer_source if viewer_source in known else None),
            gr.Dropdown(choices=choices, value=remove_source if remove_source in known else None),
            f"{len(articles)} article{'s' if len(articles) != 1 else ''} indexed",
        )

    def show_article(self, source, start=None, end=None) -> str:
        if not source:
            return render.render_viewer_empty()
        try:
            text = self.assistant.article_text(source)
        except RagError as e:
            return render.render_error(str(e))
        article = self.assistant.article(source)
        title = article.title if article else source
        start = int(start) if start not in (None, "") else None
        end = int(end) if end not in (None, "") else None
        return render.render_article(title, source, text, start, end)

    def choose_article(self, source):
        # Chosen by hand: no cited span to highlight.
        return None, None, self.show_article(source)

    def open_citation(self, evt: gr.EventData):
        href = getattr(evt, "href", "") if isinstance(getattr(evt, "_data", None), dict) else ""
        target = render.parse_open_href(href if isinstance(href, str) else "")
        if target is None:
            return gr.Tabs(), gr.Dropdown(), None, None, gr.HTML()
        source, start, end = target
        return gr.Tabs(selected="sources"), gr.Dropdown(value=source), start, end, self.show_article(source, start, end)

    def upload(self, files, progress=gr.Progress()):
        paths = [Path(f if isinstance(f, str) else getattr(f, "name", str(f))) for f in (files or [])]
        if not paths:
            return "", None
        rows: list[tuple[str, FileOutcome]] = []
        progress(0, desc=f"Indexing {len(paths)} file{'s' if len(paths) != 1 else ''}")

        def on_file(outcome: FileOutcome) -> None:
            rows.append((outcome.source or outcome.path, outcome))
            progress(len(rows) / len(paths), desc=f"Indexed {outcome.source or outcome.path}")

        try:
            with self._write_lock:
                self.assistant.upload([(p.name, p.read_bytes()) for p in paths], on_file=on_file)
        except RagError as e:
            return render.render_error(str(e)), None
        except Exception:
            log.exception("ingesting uploads failed")
            return render.render_error("Indexing failed; the error was logged on the server."), None
        return render.render_outcomes(rows), None

    def remove(self, source):
        if not source:
            return "Choose an article to remove."
        with self._write_lock:
            try:
                removed = self.assistant.remove(source)
            except RagError as e:
                return f"Could not remove {source}: {e}"
        return f"Removed {source}." if removed else f"{source} is not indexed."


def build_app(assistant: Assistant) -> gr.Blocks:
    h = _Handlers(assistant)
    settings = assistant.settings
    try:
        provider = assistant.provider
    except Exception:  # a provider that cannot even name itself should not stop the page
        log.exception("reading the provider failed")
        provider = "unknown"

    try:
        initial = render.article_choices(assistant.articles())
    except RagError:
        initial = []

    with gr.Blocks(title="Newsdesk", analytics_enabled=False, fill_width=False) as demo:
        session = gr.State(_new_session())
        header = gr.HTML(
            '<div class="nd-header"><h1>Newsdesk'
            f'<span class="nd-provider">{render.esc(provider)}</span></h1>'
            "<p>Questions about the indexed news articles, answered with cited passages.</p></div>",
            head=f"<style>{CSS}</style>",
            js_on_load=PAGE_JS,
            elem_id="nd-header",
        )
        with gr.Tabs(selected="chat") as tabs:
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=420):
                        chatbot = gr.Chatbot(
                            label="Conversation",
                            elem_id="nd-chat",
                            height=560,
                            latex_delimiters=[],
                            feedback_options=None,
                            buttons=["copy_all"],
                            placeholder="Ask about the articles: every answer cites the passages it comes from.",
                        )
                        with gr.Row():
                            question = gr.Textbox(
                                show_label=False,
                                placeholder="Ask a question and press Enter…",
                                scale=5,
                                lines=1,
                                max_lines=4,
                                elem_id="nd-question",
                                autofocus=True,
                            )
                            ask = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="nd-ask")
                        with gr.Row():
                            gr.Examples(EXAMPLES, inputs=question, label="Examples")
                        clear = gr.Button("Clear conversation", size="sm", variant="secondary", elem_id="nd-clear")
                    with gr.Column(scale=1, min_width=260):
                        with gr.Accordion("Settings", open=True, elem_id="nd-settings"):
                            gr.Textbox(value=provider, label="Answer provider", interactive=False)
                            top_k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Passages retrieved (top-k)")
                            source_filter = gr.Dropdown(
                                choices=initial,
                                value=[],
                                multiselect=True,
                                # API clients never run the page's load event; an unknown source simply matches nothing.
                                allow_custom_value=True,
                                label="Only search these articles",
                                info="Empty: all articles.",
                                elem_id="nd-source-filter",
                            )
                            with gr.Row():
                                since = gr.Textbox(label="Published from", placeholder="YYYY-MM-DD", elem_id="nd-since")
                                until = gr.Textbox(label="to", placeholder="YYYY-MM-DD", elem_id="nd-until")
            with gr.Tab("Sources", id="sources"):
                with gr.Row():
                    count = gr.Markdown("", elem_id="nd-count")
                    refresh = gr.Button("Refresh", size="sm", scale=0, min_width=100, elem_id="nd-refresh")
                table = gr.Dataframe(
                    headers=["Title", "Source", "Also published by", "Published", "Chunks"],
                    datatype=["str", "str", "str", "str", "number"],
                    value=[],
                    interactive=False,
                    wrap=True,
                    column_widths=["38%", "26%", "18%", "11%", "7%"],
                    elem_id="nd-sources-table",
                    label="Indexed articles",
                )
                with gr.Row(equal_height=False):
                    with gr.Column():
                        uploads = gr.File(
                            label="Add articles (.txt .md .html .pdf)",
                            file_count="multiple",
                            file_types=list(assistant.upload_types()),
                            elem_id="nd-upload",
                            height=140,
                        )
                        report = gr.HTML("", elem_id="nd-upload-report", js_on_load=None)
                    with gr.Column():
                        remove_choice = gr.Dropdown(choices=initial, label="Remove an article from the index", elem_id="nd-remove-choice")
                        remove = gr.Button("Remove", variant="stop", size="sm", elem_id="nd-remove")
                        removed = gr.Markdown("")
                gr.Markdown("### Read an article")
                with gr.Row():
                    viewer_choice = gr.Dropdown(choices=initial, label="Article", scale=4, allow_custom_value=True, elem_id="nd-viewer-choice")
                    span_start = gr.Number(label="Highlight from (char)", precision=0, scale=1, minimum=0)
                    span_end = gr.Number(label="to", precision=0, scale=1, minimum=0)
                    show_span = gr.Button("Highlight", size="sm", scale=0, min_width=100)
                viewer = gr.HTML(render.render_viewer_empty(), elem_id="nd-viewer", js_on_load=None)

        # --- events ---
        chat_io = dict(
            fn=h.respond,
            inputs=[question, session, top_k, source_filter, since, until],
            outputs=[chatbot, session, question],
            api_name="chat",
            show_progress="hidden",
        )
        question.submit(**chat_io)
        ask.click(**{**chat_io, "api_name": False})
        clear.click(h.clear, outputs=[chatbot, session, question], api_name=False)
        chatbot.clear(h.clear, outputs=[chatbot, session, question], api_name=False)
        gr.api(h.api_ask, api_name="ask")

        refresh_io = dict(
            fn=h.refresh,
            inputs=[source_filter, viewer_choice, remove_choice],
            outputs=[table, source_filter, viewer_choice, remove_choice, count],
            api_name=False,
        )
        demo.load(**refresh_io)
        refresh.click(**refresh_io)
        uploads.upload(h.upload, inputs=uploads, outputs=[report, uploads], api_name=False).then(**refresh_io)
        remove.click(h.remove, inputs=remove_choice, outputs=removed, api_name=False).then(**refresh_io)
        viewer_choice.input(h.choose_article, inputs=viewer_choice, outputs=[span_start, span_end, viewer], api_name=False)
        show_span.click(h.show_article, inputs=[viewer_choice, span_start, span_end], outputs=viewer, api_name=False).then(
            None, js=SCROLL_TO_MARK_JS
        )
        header.click(
            h.open_citation, outputs=[tabs, viewer_choice, span_start, span_end, viewer], api_name=False
        ).then(None, js=SCROLL_TO_MARK_JS)

    demo.queue(default_concurrency_limit=4)
    return demo


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860, no_auth: bool = False) -> int:
    """Serves the page; beyond loopback it needs a login (RAG_UI_AUTH) or an explicit `no_auth`."""
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    settings = assistant.settings
    users, login = ui_credentials(settings, host, no_auth)
    if not is_loopback(host):
        print(f"WARNING: {LOOPBACK_WARNING} (host {host}).", file=sys.stderr)
    print(f"web page: {login}; trusted hosts: {', '.join(trusted_hosts(settings, host))}", file=sys.stderr)
    demo = build_app(assistant)
    watch_index(assistant.index_stats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        demo.launch(
            server_name=host,
            server_port=port,
            auth=users,
            max_file_size=f"{settings.max_file_mb:g}mb",
            show_error=False,
            app_kwargs={
                "middleware": [
                    Middleware(MetricsMiddleware),
                    Middleware(TrustedHostMiddleware, allowed_hosts=trusted_hosts(settings, host)),
                ]
            },
        )
    return 0
