"""Running the registry imagegolf hosts for a contest (Debian's docker-registry) until stopped,
its accounts kept in step with the entrant accounts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imagegolf.contest.hosting import Hosting, notify_base, run_registry
from imagegolf.contest.service.opening import ContestAt, opened, stoppable
from imagegolf.errors import UsageError


def parse_address(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``PORT``, ``HOST:PORT`` or ``[IPv6]:PORT`` → (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = default_host, text
    host = host.strip("[]") or default_host
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"{text!r}: give [HOST:]PORT with a port in 0..65535", hint="e.g. 127.0.0.1:8000")
    return host, int(port)


@dataclass(frozen=True)
class RegistryHostOptions:
    """Where the registry listens (None: the contest's registry address), the base URL the contest
    is served on (notifications and token requests go there), its storage (None: a directory
    named after the contest here), the hook token its notifications carry, and a TLS certificate
    and key (PEM files) to serve HTTPS with."""

    notify: str
    listen: str | None = None
    storage: Path | None = None
    hook_token: str | None = None
    tls: tuple[Path, Path] | None = None


def host_registry(where: ContestAt, options: RegistryHostOptions, said: Callable[[str], None]) -> None:
    """Run the contest's registry until SIGTERM or Ctrl-C."""
    with opened(where) as (db, contest):
        host, port = parse_address(options.listen or contest.registry)
        if port == 0:
            raise UsageError("the registry's address needs the port entrants push to (not 0)")
        hosting = Hosting(
            host=host,
            port=port,
            notify=notify_base(options.notify),
            storage=(options.storage or Path(f"imagegolf-registry-{contest.name}")).absolute(),
            hook_token=options.hook_token,
            tls=options.tls,
        )
        scheme = "https" if hosting.tls else "http"
        auth = "imagegolf's token server" if contest.per_entrant else "the entrant accounts (htpasswd)"
        said(f"registry for {contest.name!r} on {scheme}://{host}:{port}, accounts from {auth}")
        said(f"  notifications to {hosting.hook_url}; storage {hosting.storage}")
        with stoppable() as stop:
            try:
                run_registry(db, contest, hosting, stop=stop, said=said)
            except KeyboardInterrupt:
                said("stopping the registry")


__all__ = ["RegistryHostOptions", "host_registry", "parse_address"]
