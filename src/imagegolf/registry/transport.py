"""HTTP to one registry: scheme and TLS rules, timeouts, what is worth a retry.

TLS is verified by default (optionally against a CA bundle). Plain HTTP is allowed only for a
loopback host (127.0.0.0/8, ::1, localhost) or with ``insecure=True``; it is then used only when
the registry does not speak TLS. Connection errors, timeouts, 429 (honouring Retry-After) and
5xx are retried with exponential backoff; 4xx never is.

Redirects (followed for GET and HEAD: a registry may send a blob GET to its storage) keep the
Authorization header only while they stay on the same origin — scheme, host and port. ``requests``
strips it on a host change, but keeps it on some scheme and port changes (http→https on default
ports, in every version; any port change in older ones): :class:`_Session` makes the rule explicit.
"""

from __future__ import annotations

import email.utils
import ipaddress
import re
import time
import warnings
from collections.abc import Mapping
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from imagegolf.errors import UsageError
from imagegolf.registry.errors import RegistryUnreachable
from imagegolf.registry.retry import RetryPolicy, Transient, run_with_retries

TLS_HINT = "pass the registry's CA with --ca-bundle, or --insecure for a registry you trust"


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1 (``host`` without a port; IPv6 may be bracketed)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of an absolute URL, the port made explicit for http and https."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port if port is not None else DEFAULT_PORTS.get(scheme)


class _Session(requests.Session):
    """A session whose redirects drop Authorization as soon as they leave the request's origin."""

    def should_strip_auth(self, old_url: str, new_url: str) -> bool:
        return origin(old_url) != origin(new_url)


def split_registry(registry: str) -> tuple[str | None, str]:
    """``(scheme or None, host[:port])`` from ``host[:port]`` or ``http(s)://host[:port][/]``."""
    text = registry.strip()
    scheme: str | None = None
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or parts.path.strip("/") or parts.query:
            raise UsageError(f"invalid registry {registry!r}", hint="use host[:port], e.g. 127.0.0.1:5000")
        scheme, text = parts.scheme, parts.netloc
    if not text or "/" in text or "@" in text:
        raise UsageError(f"invalid registry {registry!r}", hint="use host[:port], e.g. 127.0.0.1:5000")
    return scheme, text


def host_of(hostport: str) -> str:
    if hostport.startswith("["):
        return hostport[1 : hostport.index("]")] if "]" in hostport else hostport
    return hostport.rsplit(":", 1)[0] if hostport.count(":") == 1 else hostport


class Transport:
    """One registry's HTTP session; ``send`` takes a path (``/v2/…``) or an absolute URL."""

    def __init__(
        self,
        registry: str,
        *,
        insecure: bool = False,
        ca_bundle: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
    ) -> None:
        scheme, self.hostport = split_registry(registry)
        self.loopback = is_loopback(host_of(self.hostport))
        self.http_allowed = insecure or self.loopback
        if scheme == "http" and not self.http_allowed:
            raise UsageError(
                f"refusing plain HTTP to {self.hostport}: credentials and images would travel unprotected",
                hint="use https, or --insecure for a registry you trust",
            )
        self.schemes = [scheme] if scheme else ["https", *(["http"] if self.http_allowed else [])]
        self.verify: bool | str = False if insecure else (ca_bundle or True)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.session = _Session()
        self.session.trust_env = False  # no ~/.netrc credentials, no proxy for loopback registries
        self._base: str | None = None

    @property
    def base_url(self) -> str:
        """``scheme://host[:port]``, chosen on first use: HTTPS unless the registry speaks only HTTP."""
        if self._base is None:
            self._base = run_with_retries(
                self.retry, self._choose_scheme, registry=self.hostport, what="answer"
            )
        return self._base

    def url(self, path_or_url: str) -> str:
        return urljoin(self.base_url + "/", path_or_url)

    def send(
        self,
        method: str,
        path_or_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        data: bytes | None = None,
        retry: bool = True,
        what: str = "answer",
    ) -> requests.Response:
        """One request, its body left unread (``stream``); retried unless ``retry`` is False."""

        def once() -> requests.Response:
            return self.send_once(method, path_or_url, headers=headers, params=params, data=data)

        if not retry:
            return once()
        return run_with_retries(self.retry, once, registry=self.hostport, what=what)

    def send_once(
        self,
        method: str,
        path_or_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        data: bytes | None = None,
    ) -> requests.Response:
        """One request; raises :class:`Transient` for what is worth retrying."""
        response = self._request(method, self.url(path_or_url), headers=headers, params=params, data=data)
        if response.status_code == 429 or (500 <= response.status_code < 600 and response.status_code != 501):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            response.close()
            raise Transient(f"{method} answered {response.status_code} {response.reason}", retry_after)
        return response

    def _request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        data: bytes | None = None,
    ) -> requests.Response:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                return self.session.request(
                    method,
                    url,
                    headers=dict(headers or {}),
                    params=params,
                    data=data,
                    stream=True,
                    verify=self.verify,
                    timeout=self.timeout,
                    allow_redirects=method in ("GET", "HEAD"),
                )
        except requests.exceptions.SSLError as error:
            raise tls_failure(self.hostport, error) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
            raise Transient(f"{method} {urlsplit(url).path}: {short_reason(error)}") from None
        except requests.exceptions.RequestException as error:
            raise RegistryUnreachable(f"registry {self.hostport}: {short_reason(error)}") from None

    def _choose_scheme(self) -> str:
        for position, scheme in enumerate(self.schemes):
            base = f"{scheme}://{self.hostport}"
            try:
                self._request("GET", base + "/v2/").close()
                return base
            except RegistryUnreachable as failure:
                # A server that speaks plain HTTP fails the TLS handshake; a bad certificate does not
                # fall back (that would hide an attack on a TLS registry).
                if position + 1 < len(self.schemes) and "CERTIFICATE" not in str(failure).upper():
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self.session.close()


def tls_failure(hostport: str, error: Exception) -> RegistryUnreachable:
    reason = short_reason(error)
    if "CERTIFICATE" in reason.upper():
        message = f"TLS certificate of registry {hostport} not trusted: {reason}"
        return RegistryUnreachable(message, hint=TLS_HINT)
    return RegistryUnreachable(f"TLS with registry {hostport} failed: {reason}", hint=TLS_HINT)


def short_reason(error: Exception) -> str:
    """The innermost cause of a requests error, one line, no URL query strings."""
    cause: BaseException = error
    while cause.__context__ is not None and cause.__context__ is not cause:
        cause = cause.__context__
    text = str(cause) or type(cause).__name__
    for marker in ("Caused by ", "reason: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = re.sub(r"\s*\(_ssl\.c:\d+\)", "", text).strip("()'\" ")
    return text.splitlines()[0][:300] if text else type(error).__name__


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
