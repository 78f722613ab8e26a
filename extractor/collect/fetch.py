"""One HTTP request, done safely: address guard, timeouts, streamed body with a size cap, hash on the fly."""

from __future__ import annotations

import email.utils
import hashlib
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx

from extractor import __version__
from extractor.collect.urls import is_public_ip, private_addresses

# Contact shown when the user gives none: the project's home page.
DEFAULT_CONTACT = "https://example.org/extractor"
# The token robots.txt rules are matched against.
ROBOTS_TOKEN = "extractor"
_KEPT_HEADERS = ("content-type", "content-length", "etag", "last-modified", "location", "retry-after")


def user_agent(contact: str | None) -> str:
    """`extractor/<version> (+contact)`: names the crawler and says how to reach whoever runs it."""
    return f"extractor/{__version__} (+{contact or DEFAULT_CONTACT})"


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


@dataclass
class Fetched:
    """The outcome of one request: a status and headers, a stored body, or an error code."""

    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Path | None = None
    sha256: str | None = None
    size: int = 0
    # timeout | connect_error | protocol_error | too_large | private_address | dns_error | bad_url
    error: str | None = None
    detail: str = ""
    # time.monotonic() when the exchange was over: the host's next request waits `delay` from here.
    finished: float = 0.0

    def discard(self) -> None:
        """Delete the downloaded body, if any."""
        if self.body is not None:
            self.body.unlink(missing_ok=True)
            self.body = None


class Fetcher:
    """A shared HTTP client (thread-safe) that never follows redirects itself: each hop is checked."""

    def __init__(self, politeness: dict[str, Any], allow_private: bool, tmp_dir: Path) -> None:
        self.allow_private = allow_private
        self.max_bytes = int(politeness["max_bytes"])
        self.total_timeout = float(politeness["total_timeout"])
        self.tmp_dir = tmp_dir
        timeout = httpx.Timeout(
            connect=politeness["connect_timeout"],
            read=politeness["read_timeout"],
            write=politeness["read_timeout"],
            pool=None,
        )
        self.client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            # Environment proxies would hide the peer address that the private-address guard checks.
            trust_env=False,
            headers={
                "User-Agent": user_agent(politeness.get("contact")),
                "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                "Accept-Language": "zh-CN,zh;q=0.9",
            },
        )

    def get(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        *,
        form: dict[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> Fetched:
        """GET `url` (POST `form` when given); a 2xx body is streamed to a temp file and hashed, cut at the cap.

        Network trouble becomes `error`; only a failing disk raises (nothing could be stored anyway).
        """
        result = Fetched(url=url)
        try:
            if not self.allow_private:
                blocked = private_addresses(url)
                if blocked:
                    result.error, result.detail = "private_address", ", ".join(blocked)
                    return result
            self._stream(url, headers or {}, form, result, max_bytes or self.max_bytes)
        except socket.gaierror as exc:
            result.error, result.detail = "dns_error", str(exc)
        except UnicodeError as exc:  # a host name that IDNA cannot encode
            result.error, result.detail = "bad_url", str(exc)
        except httpx.TimeoutException as exc:
            result.error, result.detail = "timeout", type(exc).__name__
        except httpx.ConnectError as exc:
            result.error, result.detail = "connect_error", str(exc)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.DecodingError) as exc:
            result.error, result.detail = "protocol_error", f"{type(exc).__name__}: {exc}"
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            result.error, result.detail = "bad_url", str(exc)
        finally:
            result.finished = time.monotonic()
            if result.error:
                result.discard()
        return result

    def _stream(
        self, url: str, headers: dict[str, str], form: dict[str, str] | None, result: Fetched, limit: int
    ) -> None:
        deadline = time.monotonic() + self.total_timeout
        method = "POST" if form is not None else "GET"
        with self.client.stream(method, url, headers=headers, data=form) as response:
            if not self.allow_private:
                # Checked again on the connected socket, against DNS answers that changed in between.
                stream = response.extensions.get("network_stream")
                peer = stream.get_extra_info("server_addr") if stream is not None else None
                if peer and not is_public_ip(str(peer[0])):
                    result.error, result.detail = "private_address", str(peer[0])
                    return
            result.status = response.status_code
            result.headers = {k: response.headers[k] for k in _KEPT_HEADERS if k in response.headers}
            if not 200 <= response.status_code < 300:
                return
            declared = result.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                result.error, result.detail = "too_large", f"Content-Length {declared} over {limit} bytes"
                return
            digest = hashlib.sha256()
            result.body = self.tmp_dir / f"{uuid.uuid4().hex}.part"
            with result.body.open("wb") as fh:
                for chunk in response.iter_bytes():
                    result.size += len(chunk)
                    if result.size > limit:
                        result.error, result.detail = "too_large", f"body cut at {limit} bytes"
                        return
                    if time.monotonic() > deadline:
                        result.error, result.detail = "timeout", f"response took over {self.total_timeout}s"
                        return
                    digest.update(chunk)
                    fh.write(chunk)
            result.sha256 = digest.hexdigest()

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()
