"""The server's door: every request passes here before a route of the API or the page sees it.

Modelled on Jupyter's server, in this order:

1. **Host allow-list** (DNS rebinding): the `Host` header must name this machine (`localhost`, a
   loopback address), the address the connection came in on, or a name given with
   `--allowed-hosts`. A page of another site whose name was made to resolve to 127.0.0.1 sends its
   own name, and is refused.
2. **A token, always** (unless the server was started with `--insecure`): `Authorization: Bearer
   TOKEN` (or `token TOKEN`, either case), or the session cookie that `/login` and `?token=` set.
   Being on this machine earns nothing: a reverse proxy on the same machine makes every client
   "local", so no address is exempt.
3. **Same origin for changes** (cross-site request forgery): a POST, PUT, PATCH or DELETE that a
   browser sends from another origin (its `Origin`, else its `Sec-Fetch-Site`) is refused, unless
   that origin was configured with `--cors-origin`. Clients that are not browsers send neither
   header, and must hold the token.
4. **Bodies bounded while they stream**: bytes are counted as they arrive and the request is cut
   at the limit (413), before a parser has kept more; a multipart parser told so removes what it
   had written.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import ipaddress
import json
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from python_multipart.exceptions import MultipartParseError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = frozenset(("localhost", "127.0.0.1", "::1"))
UNSAFE_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
LOGIN_BODY_LIMIT = 4096


class BodyTooLarge(MultipartParseError):
    """The request body passed its limit. A multipart parser (Starlette's, Gradio's) takes it as a
    broken upload and removes the files it had begun; the guard answers 413."""


@dataclass(frozen=True)
class Policy:
    """What the door lets in.

    `token` None means no token at all (`--insecure`). `allowed_hosts` holds names beyond the
    loopback ones; "*" allows any. Bodies of `upload_routes` may reach `max_upload_bytes`, the rest
    `max_body_bytes`.
    """

    token: str | None
    allowed_hosts: frozenset[str] = frozenset()
    cors_origins: tuple[str, ...] = ()
    max_upload_bytes: int = 2 * 1024**3
    max_body_bytes: int = 16 * 1024**2
    upload_routes: tuple[str, ...] = ("/api/jobs", "/gradio_api/upload")
    # Gradio's API for its client libraries: the page never calls it; the HTTP API is ours.
    closed_prefixes: tuple[str, ...] = (
        "/gradio_api/call/", "/gradio_api/run/", "/gradio_api/api/", "/gradio_api/mcp",
    )  # fmt: skip

    def session(self) -> str:
        """The session cookie's value: derived from the token, so a new token ends old sessions;
        the token itself never goes into a cookie."""
        key = (self.token or "").encode()
        return hmac.new(key, b"audio-creator session", hashlib.sha256).hexdigest()


def new_token() -> str:
    """A token for a server started without one (printed with its address at start)."""
    return secrets.token_hex(24)


def host_name(host_header: str) -> str:
    """The name in a Host header, without its port: `[::1]:80` → `::1`, `Example:80` → `example`."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        return host.partition(":")[0]
    return host


class Guard:
    """ASGI middleware that applies a `Policy` to every HTTP and websocket request."""

    def __init__(self, app: ASGIApp, policy: Policy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        path = scope["path"]
        if path == LOGIN_PATH:
            await self._login(scope, receive, send, headers)
            return
        if path == LOGOUT_PATH:  # the cookie goes; the sign-in page comes
            await self._cookie(scope, send, LOGIN_PATH, "", expired=True)
            return
        if self.policy.token and method in ("GET", "HEAD"):
            given = _query(scope)
            if "token" in given and secrets.compare_digest(
                given["token"].encode(), self.policy.token.encode()
            ):  # a link with the token: set the cookie, then the same address without it
                del given["token"]
                target = quote(path) + (f"?{urlencode(given)}" if given else "")
                await self._signed_in(scope, send, _safe_next(target))
                return
        limit = self.policy.max_body_bytes
        if method == "POST" and path in self.policy.upload_routes:
            limit = self.policy.max_upload_bytes
        await _bounded(self.app, scope, receive, _framed_by_none(send), limit)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> ASGIApp | None:
        """The answer that turns the request away, or None when it may go on."""
        host = headers.get("host", "")
        if not self.host_allowed(host, scope):
            return _answer(
                403, f"this server does not answer to the host {host!r}; start it with "
                "--allowed-hosts NAME to let clients reach it by that name",
            )  # fmt: skip
        changes = scope["type"] == "websocket" or scope["method"] in UNSAFE_METHODS
        if changes and not self.same_origin(headers):
            origin = headers.get("origin") or headers.get("sec-fetch-site", "")
            return _answer(
                403, f"a request from another site ({origin}) cannot change anything here; "
                "an origin given with --cors-origin may",
            )  # fmt: skip
        if scope["path"].startswith(self.policy.closed_prefixes):
            return _answer(404, "not here: the HTTP API is at /api (see /docs)")
        is_preflight = scope.get("method") == "OPTIONS" and "origin" in headers
        if is_preflight or scope["path"] in (LOGIN_PATH, LOGOUT_PATH):
            return None
        if self.signed_in(scope, headers):
            return None
        if scope["type"] == "http" and scope["method"] == "GET" and _wants_page(headers):
            query = urlencode({"next": _relative(scope)})
            return _redirect(f"{LOGIN_PATH}?{query}")
        return _answer(
            401, "this server needs its token: send 'Authorization: Bearer TOKEN' (the token is "
            "printed when the server starts, or set by AUDIO_CREATOR_TOKEN)",
            {"www-authenticate": "Bearer"},
        )  # fmt: skip

    def host_allowed(self, host_header: str, scope: Scope) -> bool:
        if "*" in self.policy.allowed_hosts:
            return True
        name = host_name(host_header)
        if not name:
            return False
        if name in LOOPBACK_NAMES or name in self.policy.allowed_hosts:
            return True
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            return False
        bound = (scope.get("server") or ("", 0))[0]
        return address.is_loopback or name == str(bound).lower()

    def same_origin(self, headers: dict[str, str]) -> bool:
        origin = headers.get("origin")
        if origin is not None:
            if origin in self.policy.cors_origins:
                return True
            return (
                origin != "null"
                and urlsplit(origin).netloc.lower() == headers.get("host", "").strip().lower()
            )
        site = headers.get("sec-fetch-site")
        return site is None or site in ("same-origin", "none")

    def signed_in(self, scope: Scope, headers: dict[str, str]) -> bool:
        token = self.policy.token
        if token is None:
            return True
        scheme, _, given = headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() in ("bearer", "token") and secrets.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return True
        if scope.get("method") in ("GET", "HEAD") and secrets.compare_digest(
            _query(scope).get("token", "").encode(), token.encode()
        ):  # a link with the token (it is swapped for the cookie at once)
            return True
        cookie = _cookies(headers).get(_cookie_name(scope), "")
        return secrets.compare_digest(cookie.encode(), self.policy.session().encode())

    async def _login(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]
    ) -> None:
        """GET: the sign-in page. POST: the token from its form; right → the cookie, and on."""
        target = _safe_next(_query(scope).get("next", "/"))
        if self.policy.token is None:
            await _redirect(target)(scope, receive, send)
            return
        if scope["method"] == "POST":
            body = await _read_small(receive, LOGIN_BODY_LIMIT)
            form = dict(parse_qsl(body.decode("utf-8", errors="replace"))) if body else {}
            given = form.get("token", "")
            if secrets.compare_digest(given.encode(), self.policy.token.encode()):
                await self._signed_in(scope, send, _safe_next(form.get("next", target)))
                return
            await _page(401, _login_html(target, wrong=True))(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _answer(405, "sign in with GET or POST")(scope, receive, send)
            return
        await _page(200, _login_html(target, wrong=False))(scope, receive, send)

    async def _signed_in(self, scope: Scope, send: Send, target: str) -> None:
        await self._cookie(scope, send, target, self.policy.session())

    async def _cookie(
        self, scope: Scope, send: Send, target: str, value: str, *, expired: bool = False
    ) -> None:
        """Set (or with `expired`, remove) the session cookie, and go on to `target`."""
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        gone = "; Max-Age=0" if expired else ""
        cookie = f"{_cookie_name(scope)}={value}; Path=/; HttpOnly; SameSite=Strict{secure}{gone}"
        await send({
            "type": "http.response.start", "status": 303,
            "headers": [(b"location", target.encode()), (b"set-cookie", cookie.encode()),
                        (b"content-length", b"0"), (b"cache-control", b"no-store"), *_FRAMING],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": b""})


async def _bounded(app: ASGIApp, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    """Run `app` with its request body cut at `limit` bytes: 413 at once when the declared length
    says so; else counted as it arrives, and 413 instead of whatever the app answers once the
    count passes the limit."""
    declared = _headers(scope).get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        await _too_large(limit)(scope, receive, send)
        return
    state = {"received": 0, "over": False, "started": False}

    async def counted() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            state["received"] += len(message.get("body", b""))
            if state["received"] > limit:
                state["over"] = True
                raise BodyTooLarge(f"the request is larger than {limit} bytes")
        return message

    async def sending(message: Message) -> None:
        if state["over"]:  # whatever the app makes of the cut body, the client gets a 413
            if message["type"] == "http.response.start" and not state["started"]:
                state["started"] = True
                await _too_large(limit)(scope, receive, send)
            return
        if message["type"] == "http.response.start":
            state["started"] = True
        await send(message)

    try:
        await app(scope, counted, sending)
    except BodyTooLarge:
        if not state["started"]:
            state["started"] = True
            await _too_large(limit)(scope, receive, send)
    except Exception:
        if not state["over"]:
            raise
        if not state["started"]:  # an app that turned the cut into another error
            state["started"] = True
            await _too_large(limit)(scope, receive, send)


# Every answer: not to be shown in another site's frame (clickjacking: a page on another port of
# this machine is "same-site", so the cookie alone would let it frame the signed-in page), and
# taken as the type it says; no address of it sent to other sites (a form of its own still
# carries its Origin: "no-referrer" would make that "null", which is refused).
_FRAMING = (
    (b"content-security-policy", b"frame-ancestors 'none'"), (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
)  # fmt: skip


def _framed_by_none(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            have = {name.lower() for name, _ in message.get("headers", [])}
            extra = [(k, v) for k, v in _FRAMING if k not in have]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending


class TokenScrubber:
    """A logging filter that hides `token=…` in what uvicorn logs of each request."""

    _TOKEN = re.compile(r"([?&]token=)[^&\s]*")

    def filter(self, record: Any) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._TOKEN.sub(r"\1[hidden]", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def _too_large(limit: int) -> ASGIApp:
    return _answer(413, f"the request is larger than this server takes ({limit} bytes)")


def _answer(status: int, detail: str, extra: dict[str, str] | None = None) -> ASGIApp:
    body = json.dumps({"detail": detail}).encode()
    return _respond(status, body, "application/json", extra or {})


def _page(status: int, text: str) -> ASGIApp:
    return _respond(status, text.encode(), "text/html; charset=utf-8", {})


def _redirect(target: str) -> ASGIApp:
    return _respond(303, b"", "text/plain", {"location": target})


def _respond(status: int, body: bytes, kind: str, extra: dict[str, str]) -> ASGIApp:
    async def respond(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        headers = [(b"content-type", kind.encode()), (b"content-length", str(len(body)).encode()),
                   (b"cache-control", b"no-store"), *_FRAMING]  # fmt: skip
        headers += [(k.encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return respond


async def _read_small(receive: Receive, limit: int) -> bytes:
    body: bytes = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        body += bytes(message.get("body", b""))
        if len(body) > limit:
            return b""
        if not message.get("more_body"):
            return body


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name (the first of repeated ones)."""
    found: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        found.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return found


def _query(scope: Scope) -> dict[str, str]:
    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))


def _cookies(headers: dict[str, str]) -> dict[str, str]:
    jar = {}
    for part in headers.get("cookie", "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            jar[name] = value
    return jar


def _cookie_name(scope: Scope) -> str:
    """One cookie per port: servers on one machine share cookies across ports, not sessions."""
    port = (scope.get("server") or ("", 0))[1]
    return f"audio-creator-{port}"


def _wants_page(headers: dict[str, str]) -> bool:
    return headers.get("sec-fetch-mode") == "navigate" or "text/html" in headers.get("accept", "")


def _relative(scope: Scope) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    return str(scope["path"]) + (f"?{query}" if query else "")


def _safe_next(target: str) -> str:
    """Where to go after signing in: a path of this server only, never another site."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):  # no header tricks, no spaces
        return "/"
    return target


def _login_html(target: str, *, wrong: bool) -> str:
    said = '<p class="wrong">That is not this server\'s token.</p>' if wrong else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Audio Creator: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 28rem; margin: 4rem auto; padding: 0 1rem; }}
input {{ width: 100%; padding: .5rem; font: inherit; box-sizing: border-box; }}
button {{ margin-top: .75rem; padding: .5rem 1rem; font: inherit; }}
.wrong {{ color: #b42318; }}
</style></head><body>
<h1>Audio Creator</h1>
<p>This server asks for its token. It was printed where the server started
(<code>audio-creator serve</code>), or is the one in <code>AUDIO_CREATOR_TOKEN</code>.</p>
{said}<form method="post" action="{LOGIN_PATH}">
<input type="hidden" name="next" value="{html.escape(target)}">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus>
<button type="submit">Sign in</button>
</form></body></html>
"""
