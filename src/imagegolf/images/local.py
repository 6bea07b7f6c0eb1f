"""A registry of imagegolf's own on this machine (Debian's docker-registry on loopback), for the
demo and for trying push and pull without an account anywhere."""

from __future__ import annotations

from imagegolf.registry.local import LocalRegistry

__all__ = ["LocalRegistry"]
