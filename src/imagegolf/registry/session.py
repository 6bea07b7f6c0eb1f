"""One registry session: the transport, the authenticator and its credentials, the caps and the
progress callback, with the primitives every distribution-API call is made of.

A request here is one authenticated attempt (one more after a 401, with fresh credentials);
:meth:`RegistrySession.retrying` repeats a whole operation on a transient failure. manifests.py,
blobs.py, upload.py, tags.py, push.py and pull.py take a session; client.py composes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from imagegolf.oci.limits import DEFAULT_CAPS, Caps
from imagegolf.registry.auth import Authenticator
from imagegolf.registry.credentials import Credentials
from imagegolf.registry.errors import NotFound, RegistryProtocolError, RegistryRefused
from imagegolf.registry.http import Response
from imagegolf.registry.protocol import Scopes, registry_error
from imagegolf.registry.retry import run_with_retries
from imagegolf.registry.transport import Transport

T = TypeVar("T")
Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    """The progress callback when nobody listens."""


class RegistrySession:
    """Everything needed to talk to one registry (``host[:port]``); nothing is contacted yet."""

    def __init__(
        self,
        registry: str,
        transport: Transport,
        credentials: Credentials,
        *,
        caps: Caps = DEFAULT_CAPS,
        progress: Progress | None = None,
    ) -> None:
        self.registry = registry
        self.transport = transport
        self.auth = Authenticator(registry, credentials, transport)
        self.caps = caps
        self.progress: Progress = progress or _quiet

    def close(self) -> None:
        self.transport.close()

    def retrying(self, what: str, operation: Callable[[], T]) -> T:
        """``operation``, repeated under the transport's retry policy on a transient failure."""
        return run_with_retries(self.transport.retry, operation, registry=self.registry, what=what)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        scopes: Scopes,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        data: bytes | None = None,
    ) -> Response:
        """One authenticated request (one retry after a 401 with fresh credentials); no other retry."""
        sent = self.auth.headers(scopes)
        response = self.transport.send_once(
            method, path_or_url, headers={**(headers or {}), **sent}, params=params, data=data
        )
        if response.status != 401:
            return response
        retry_headers = self.auth.on_unauthorized(response, scopes, sent)
        response.close()
        response = self.transport.send_once(
            method, path_or_url, headers={**(headers or {}), **retry_headers}, params=params, data=data
        )
        if response.status == 401:
            raise self.auth.rejected(response, registry_error(response)[1])
        return response

    def expect(self, response: Response, ok: set[int], what: str, *, keep: bool = False) -> None:
        """Raise the registry's refusal unless the status is in ``ok``; close the body unless ``keep``."""
        if response.status in ok:
            if not keep:
                response.close()
            return
        code, detail = registry_error(response)
        if response.status == 404:
            raise NotFound(f"registry {self.registry} could not {what}: {detail}", status=404, code=code)
        message = f"registry {self.registry} refused to {what}: {detail}"
        if 400 <= response.status < 500:
            raise RegistryRefused(message, status=response.status, code=code)
        raise RegistryProtocolError(f"registry {self.registry} answered {response.status} to {what}")
