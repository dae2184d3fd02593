"""What protects the HTTP API and the web page: host allow-list, CORS, body size, login.

* Trusted hosts: a server bound to loopback answers only requests whose Host header is a loopback
  name, so a web page on another site cannot reach it through DNS rebinding. `RAG_TRUSTED_HOSTS`
  (comma-separated) sets the list; a server bound beyond loopback accepts any Host unless it is set.
* CORS is closed (no cross-origin browser calls) unless `RAG_API_CORS_ORIGINS` names origins.
* A request body over the limit is refused with 413 before it is read whole: by its Content-Length,
  or, for a chunked body, as soon as the bytes received pass the limit.
* The web page needs a login (`RAG_UI_AUTH=user:password[,user2:password2]`) when it is served beyond
  loopback, unless the user opts out explicitly (`RAG_UI_AUTH=none` or `rag serve --no-auth`).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable

from rag.core.config import Settings
from rag.core.errors import ConfigError

LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
NO_AUTH = "none"


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def trusted_hosts(settings: Settings, bind_host: str) -> list[str]:
    if settings.trusted_hosts:
        return settings.trusted_hosts
    return [*LOOPBACK_HOSTS, bind_host] if is_loopback(bind_host) else ["*"]


def ui_credentials(settings: Settings, bind_host: str, no_auth: bool = False) -> tuple[list[tuple[str, str]] | None, str]:
    """(users for Gradio's `auth`, or None for no login; a line saying so for the start-up message).

    Raises ConfigError when the page would be open beyond loopback without an explicit opt-out.
    """
    raw = settings.ui_auth.get_secret_value().strip() if settings.ui_auth else ""
    if no_auth or raw.lower() == NO_AUTH:
        where = "" if is_loopback(bind_host) else f" on {bind_host}: anyone who can reach it can use it"
        return None, f"no login (opted out){where}"
    if raw:
        users = []
        for pair in raw.split(","):
            user, sep, password = pair.strip().partition(":")
            if not sep or not user or not password:
                raise ConfigError("RAG_UI_AUTH must be user:password pairs separated by commas (or 'none').")
            users.append((user, password))
        return users, f"login required ({len(users)} user{'s' if len(users) != 1 else ''} from RAG_UI_AUTH)"
    if is_loopback(bind_host):
        return None, "no login (loopback only; set RAG_UI_AUTH=user:password to require one)"
    raise ConfigError(
        f"The web page would be open to anyone who can reach {bind_host}. Set RAG_UI_AUTH=user:password "
        "to require a login, or pass --no-auth (RAG_UI_AUTH=none) to serve it without one."
    )


class BodyLimit:
    """Pure ASGI middleware: 413 for a request body over `limit_for(path)` bytes, before it is read whole."""

    def __init__(self, app, limit_for: Callable[[str], int]):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _refuse(send, limit)
            return
        received = 0
        refused = False

        async def limited_receive():
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer now; the app sees the client go away and its own reply is dropped.
                    refused = True
                    await _refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if not refused:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise


async def _refuse(send, limit: int) -> None:
    body = json.dumps(
        {"error": {"message": f"Request body too large (limit {limit} bytes).", "type": "request_too_large"}}
    ).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json"),
                                                                         (b"content-length", str(len(body)).encode()),
                                                                         (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
