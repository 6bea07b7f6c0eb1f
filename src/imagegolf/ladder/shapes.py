"""The image shapes the rungs produce, written by imagegolf's own (deterministic) OCI writer."""

from __future__ import annotations

from imagegolf import oci
from imagegolf.errors import UsageError
from imagegolf.platform import Platform


def scratch_binary(name: str, program: bytes, platform: Platform, args: list[str] | None = None) -> oci.Image:
    """``FROM scratch`` + ``COPY NAME /`` + ``CMD ["/NAME", *args]``: what the post's entrants wrote."""
    entry = oci.TarEntry.file(name, program, 0o755)
    return oci.build_image([entry], platform, cmd=["/" + name, *(args or [])])


def echo_arguments(message: bytes) -> list[str]:
    """Arguments that make ``echo`` print ``message`` exactly (echo adds the final newline itself).

    The message travels in the image's JSON config, so it must be UTF-8 without NUL bytes.
    """
    if b"\0" in message:
        raise UsageError("an echo rung cannot print a NUL byte: the message travels in CMD")
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("an echo rung needs a UTF-8 message: it travels in the image's CMD") from None
    if text.endswith("\n"):
        return [text[:-1]]
    return ["-n", text]
