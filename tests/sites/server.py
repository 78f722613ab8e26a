"""A fixture web site on 127.0.0.1: static files, dynamic routes, and a log of every request it saw."""

from __future__ import annotations

import email.utils
import hashlib
import mimetypes
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

# Fixed Last-Modified of every static file, so that reruns see the same validators.
LAST_MODIFIED = email.utils.formatdate(1_700_000_000, usegmt=True)
TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".shtml": "text/html",
    ".xml": "text/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".zip": "application/zip",
}


@dataclass
class Hit:
    """One request as the server saw it."""

    path: str  # path and query, as requested
    started: float
    headers: dict[str, str]
    ended: float = 0.0
    status: int = 0
    method: str = "GET"
    form: dict[str, str] = field(default_factory=dict)  # a POST's url-encoded fields

    @property
    def route(self) -> str:
        """The path without its query string."""
        return urlsplit(self.path).path


Route = Callable[["Handler", Hit], None]


@dataclass
class Site:
    """What a fixture site serves: files under `root`, generated `files`, and `routes` (regex → handler)."""

    root: Path | None = None
    # Text files are stored as UTF-8 and served in this encoding (the GBK portals).
    encoding: str = "utf-8"
    # Sent as `text/html; charset=…` when set; portals often send no charset at all.
    charset_header: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)
    # Placeholders replaced in text files (`{{OFFSITE}}` → another server's URL).
    substitutions: dict[str, str] = field(default_factory=dict)


class Handler(BaseHTTPRequestHandler):
    """Serves a Site; every request is logged before it is answered."""

    server: SiteServer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the request log is the record."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(min(length, 65536)).decode("utf-8")).items()}
        self.do_GET(method="POST", form=form)

    def do_GET(self, method: str = "GET", form: dict[str, str] | None = None) -> None:
        hit = Hit(
            self.path,
            time.time(),
            {k.lower(): v for k, v in self.headers.items()},
            method=method,
            form=form or {},
        )
        with self.server.lock:
            self.server.log.append(hit)
        try:
            route = self.server.route_for(hit.route)
            if route is not None:
                route(self, hit)
            else:
                self.serve_static(hit)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a size cap or a timeout): that is what some tests check
        finally:
            hit.ended = time.time()

    def send(self, hit: Hit, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        """Answer with a status, headers and a body."""
        hit.status = status
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body_of(self, path: str) -> bytes | None:
        """The bytes a static path serves, encoded and substituted like a file of the site."""
        site = self.server.site
        if path in site.files:
            return site.files[path]
        if site.root is None:
            return None
        if path.endswith("/"):
            path += "index.html"
        target = (site.root / path.lstrip("/")).resolve()
        if site.root.resolve() not in target.parents or not target.is_file():
            return None
        data = target.read_bytes()
        if target.suffix in (".html", ".htm", ".xml", ".txt"):
            text = data.decode("utf-8")
            for key, value in site.substitutions.items():
                text = text.replace(key, value)
            data = text.encode(site.encoding)
        return data

    def content_type(self, path: str) -> str:
        """The Content-Type a path is served with."""
        suffix = Path(path if not path.endswith("/") else path + "index.html").suffix.lower()
        kind = TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"
        if kind == "text/html" and self.server.site.charset_header:
            kind += f"; charset={self.server.site.charset_header}"
        return kind

    def serve_static(self, hit: Hit) -> None:
        """A file with ETag and Last-Modified; 304 when the client's validator matches."""
        body = self.body_of(hit.route)
        if body is None:
            self.send(hit, 404, b"<html><body>404 Not Found</body></html>", {"Content-Type": "text/html"})
            return
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if hit.headers.get("if-none-match") == etag:
            self.send(hit, 304, b"", {"ETag": etag})
            return
        self.send(
            hit,
            200,
            body,
            {"Content-Type": self.content_type(hit.route), "ETag": etag, "Last-Modified": LAST_MODIFIED},
        )


class SiteServer(ThreadingHTTPServer):
    """A threaded HTTP server for one Site, on a free port of 127.0.0.1."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, site: Site) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.site = site
        self.log: list[Hit] = []
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self._compiled = [(re.compile(pattern), route) for pattern, route in site.routes.items()]
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:40123."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def route_for(self, path: str) -> Route | None:
        """The dynamic route that answers `path`, if any."""
        for pattern, route in self._compiled:
            if pattern.fullmatch(path):
                return route
        return None

    def hits(self, route: str | None = None) -> list[Hit]:
        """A copy of the log, optionally only the requests for one path."""
        with self.lock:
            return [h for h in self.log if route is None or h.route == route]

    def start(self) -> SiteServer:
        """Serve in a background thread (once; starting again is a no-op)."""
        if not self._thread.is_alive():
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; handlers that are still sleeping wake up and end."""
        self.closing.set()
        self.shutdown()
        self.server_close()

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
