"""Go's archive/tar as an oracle, and the differential check of imagegolf's tar reader against it.

dockerd and podman extract layers with Go's archive/tar, so imagegolf's own reader
(:func:`imagegolf.oci.tar_read.read_tar`) must read every layer exactly as Go does, or refuse it.
:class:`GoTar` builds ``tests/oci/gotar/main.go`` once (offline, Debian's ``go``) and keeps one
process that reads archive after archive; :func:`compare` puts the two readers side by side.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from imagegolf.errors import BadInputError
from imagegolf.oci.tar_entry import TarEntry
from imagegolf.oci.tar_read import read_tar

SOURCE = Path(__file__).resolve().parent / "gotar" / "main.go"
ROOT = Path(__file__).resolve().parents[2]
SETUP_HINT = "install it with `scripts/setup.sh` (it installs Debian's golang-go)"

# What the engines extract each Go typeflag as (after Go turns a v7 NUL into '0' or '5'); any
# other typeflag is an entry the engines refuse ("unhandled tar header type").
KIND_OF_GO_TYPEFLAG = {
    ord("0"): "file",
    ord("1"): "hardlink",
    ord("2"): "symlink",
    ord("3"): "char",
    ord("4"): "block",
    ord("5"): "dir",
    ord("6"): "fifo",
}
GLOBAL_PAX = ord("g")  # Go returns global PAX headers as entries; the engines skip them


class GoUnavailable(Exception):
    """Go is not installed, or the reference program does not build."""


@dataclass(frozen=True)
class GoEntry:
    """One ``tar.Header`` as Go returned it; names are the exact bytes."""

    name: bytes
    typeflag: int
    size: int
    linkname: bytes
    mode: int  # the full int64 hdr.Mode, type bits and all
    uid: int
    gid: int
    mtime: int
    devmajor: int
    devminor: int
    format: str
    sha256: str | None  # of the data read through the reader, for typeflag '0' only
    data_bytes: int
    xattrs: dict[bytes, bytes] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> GoEntry:
        xattrs = {bytes.fromhex(k): bytes.fromhex(v) for k, v in (raw.get("xattrs") or {}).items()}
        return cls(
            name=bytes.fromhex(raw["name_hex"]),
            typeflag=raw["typeflag"],
            size=raw["size"],
            linkname=bytes.fromhex(raw["linkname_hex"]),
            mode=raw["mode"],
            uid=raw["uid"],
            gid=raw["gid"],
            mtime=raw["mtime"],
            devmajor=raw["devmajor"],
            devminor=raw["devminor"],
            format=raw["format"],
            sha256=raw["sha256"],
            data_bytes=raw["data_bytes"],
            xattrs=xattrs,
        )

    def describe(self) -> str:
        flag = bytes([self.typeflag])
        text = f"{flag!r} {self.name!r} size={self.size} mode={self.mode:#o} uid={self.uid} gid={self.gid}"
        if self.linkname:
            text += f" -> {self.linkname!r}"
        if self.sha256:
            text += f" sha256={self.sha256[:12]}"
        return text + f" [{self.format}]"


@dataclass(frozen=True)
class GoResult:
    """Every entry Go read, and the error that stopped it (None: it reached the end cleanly)."""

    entries: list[GoEntry]
    error: str | None
    error_in_data: bool = False  # the error came from reading an entry's data, not from Next

    def describe(self) -> str:
        lines = [f"  {n}: {e.describe()}" for n, e in enumerate(self.entries)]
        where = " (reading the data of the last entry)" if self.error_in_data else ""
        lines.append(f"  error: {self.error}{where}" if self.error else "  end: io.EOF, no error")
        return "\n".join(lines)


def find_go() -> str:
    """The ``go`` command, or :class:`GoUnavailable` saying how to get it."""
    found = shutil.which("go") or next(
        (p for p in ("/usr/bin/go", "/usr/lib/go/bin/go") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise GoUnavailable(f"the tar differential test needs Go (`go` is not on PATH): {SETUP_HINT}")
    return found


def _build_dir() -> Path:
    """build/gotar in the checkout (git-ignored), or a private temporary directory if read-only."""
    preferred = ROOT / "build" / "gotar"
    try:
        preferred.mkdir(parents=True, exist_ok=True)
        if os.access(preferred, os.W_OK):
            return preferred
    except OSError:
        pass
    fallback = Path(tempfile.gettempdir()) / f"imagegolf-gotar-{os.getuid()}"
    fallback.mkdir(mode=0o700, exist_ok=True)
    return fallback


def build_gotar() -> Path:
    """Compile main.go, offline; the binary is named by the hash of its source and Go's version,
    so a session rebuilds only when either changed."""
    go = find_go()
    work = _build_dir()
    env = {
        **os.environ,
        "GOCACHE": str(work / "cache"),
        "GOPATH": str(work / "gopath"),
        "GOPROXY": "off",  # never download: the program is standard library only
        "GO111MODULE": "off",  # a single file, no go.mod
        "GOFLAGS": "",
        "GOENV": "off",
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
    }
    version = subprocess.run([go, "version"], capture_output=True, text=True, env=env).stdout
    key = hashlib.sha256(SOURCE.read_bytes() + version.encode()).hexdigest()[:16]
    binary = work / f"gotar-{key}"
    if binary.exists():
        return binary
    partial = work / f"gotar-{key}.{os.getpid()}.tmp"
    built = subprocess.run(
        [go, "build", "-o", str(partial), str(SOURCE)], capture_output=True, text=True, env=env
    )
    if built.returncode != 0:
        raise GoUnavailable(f"`go build {SOURCE}` failed ({SETUP_HINT} if Go is broken):\n{built.stderr}")
    partial.replace(binary)  # atomic: a concurrent session sees the old binary or the whole new one
    return binary


class GoTar:
    """One long-lived gotar process; :meth:`read` sends an archive and returns Go's reading."""

    def __init__(self, binary: Path | None = None) -> None:
        self._binary = binary or build_gotar()
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> GoTar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, data: bytes) -> GoResult:
        stdin, stdout = self._pipes()
        try:
            stdin.write(len(data).to_bytes(8, "big") + data)
            stdin.flush()
            line = stdout.readline()
        except BrokenPipeError:
            line = b""
        if not line:
            raise RuntimeError(f"gotar died while reading a {len(data)}-byte archive: {self._reap()}")
        raw = json.loads(line)
        entries = [GoEntry.from_json(e) for e in raw["entries"]]
        return GoResult(entries, raw["error"], raw["error_in_data"])

    def close(self) -> None:
        if self._process is not None:
            self._reap()

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        if self._process is None:
            self._process = subprocess.Popen(
                [str(self._binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        assert self._process.stdin is not None and self._process.stdout is not None
        return self._process.stdin, self._process.stdout

    def _reap(self) -> str:
        """Stop the process (closing stdin ends it cleanly) and return what it said on stderr."""
        process, self._process = self._process, None
        if process is None:
            return ""
        try:
            _, stderr = process.communicate(timeout=10)
        except (subprocess.TimeoutExpired, ValueError, OSError):
            process.kill()
            _, stderr = process.communicate()
        return f"exit status {process.returncode}: {stderr.decode(errors='replace').strip()}"


# -- The differential check ---------------------------------------------------------------------

AGREE = "agree"  # both read it, entry for entry the same
REFUSED = "refused"  # imagegolf refused it (Go may or may not read it: refusing is always safe)
DISAGREE = "disagree"  # imagegolf accepted something Go reads differently or not at all


@dataclass(frozen=True)
class Outcome:
    verdict: str
    go: GoResult
    ours: list[TarEntry]
    ours_error: str | None  # why imagegolf refused (or crashed)
    problems: list[str]  # for DISAGREE: what differs, one line each

    def describe(self) -> str:
        ours = [f"  {n}: {_describe_ours(e)}" for n, e in enumerate(self.ours)]
        ours.append(f"  refused: {self.ours_error}" if self.ours_error else "  accepted")
        return "\n".join(
            [
                f"verdict: {self.verdict}",
                *(f"  - {p}" for p in self.problems),
                "Go archive/tar read:",
                self.go.describe(),
                "imagegolf read_tar read:",
                *ours,
            ]
        )


def _describe_ours(entry: TarEntry) -> str:
    text = (
        f"{entry.kind} {entry.path!r} size={entry.size} mode={entry.mode:#o} uid={entry.uid} gid={entry.gid}"
    )
    if entry.linkname:
        text += f" -> {entry.linkname!r}"
    if entry.data is not None:
        text += f" sha256={hashlib.sha256(entry.data).hexdigest()[:12]}"
    return text


Reader = Callable[..., Iterable[TarEntry]]  # read_tar's shape: (data, *, keep_data) -> entries


def read_ours(data: bytes, reader: Reader = read_tar) -> tuple[list[TarEntry], str | None, bool]:
    """imagegolf's reading: the entries, the refusal (if any) and whether it was a crash (an
    exception other than BadInputError, which is never an acceptable way to refuse)."""
    entries: list[TarEntry] = []
    try:
        for entry in reader(data, keep_data=True):
            entries.append(entry)
    except BadInputError as refused:
        return entries, f"{type(refused).__name__}: {refused}", False
    except Exception as crashed:  # any other exception is itself the finding: a crash, not a refusal
        return entries, f"crash: {type(crashed).__name__}: {crashed}", True
    return entries, None, False


def compare(data: bytes, go: GoTar, reader: Reader = read_tar) -> Outcome:
    """Read ``data`` with both readers: refusing is fine, accepting must match Go exactly."""
    result = go.read(data)
    ours, ours_error, crashed = read_ours(data, reader)
    if crashed:
        return Outcome(DISAGREE, result, ours, ours_error, [f"imagegolf crashed: {ours_error}"])
    if ours_error is not None:
        return Outcome(REFUSED, result, ours, ours_error, [])
    if result.error is not None:
        problem = f"Go fails with {result.error!r} but imagegolf accepted the archive"
        return Outcome(DISAGREE, result, ours, None, [problem])
    problems = entry_differences([e for e in result.entries if e.typeflag != GLOBAL_PAX], ours)
    return Outcome(DISAGREE if problems else AGREE, result, ours, None, problems)


def entry_differences(theirs: list[GoEntry], ours: list[TarEntry]) -> list[str]:
    if len(theirs) != len(ours):
        return [f"Go read {len(theirs)} entries, imagegolf {len(ours)}"]
    problems: list[str] = []
    for n, (go_entry, entry) in enumerate(zip(theirs, ours, strict=True)):
        problems += [f"entry {n}: {p}" for p in _field_differences(go_entry, entry)]
    return problems


def _field_differences(go: GoEntry, ours: TarEntry) -> list[str]:
    kind = KIND_OF_GO_TYPEFLAG.get(go.typeflag, f"typeflag {bytes([go.typeflag])!r} (unhandled by engines)")
    pairs: list[tuple[str, object, object]] = [
        ("name", go.name, _raw(ours.path)),
        ("kind", kind, ours.kind),
        ("size", go.size, ours.size),
        ("linkname", go.linkname, _raw(ours.linkname)),
        ("mode & 0o7777", oct(go.mode & 0o7777), oct(ours.mode)),
        ("uid", go.uid, ours.uid),
        ("gid", go.gid, ours.gid),
    ]
    if kind == "file":
        digest = None if ours.data is None else hashlib.sha256(ours.data).hexdigest()
        pairs.append(("sha256 of the data", go.sha256, digest))
    if hasattr(ours, "xattrs"):  # engines apply SCHILY.xattr.* records (readers that yield them)
        ours_xattrs = sorted((_raw(k), _raw(v)) for k, v in ours.xattrs)
        pairs.append(("xattrs", sorted(go.xattrs.items()), ours_xattrs))
    return [f"{what}: Go {theirs!r}, imagegolf {mine!r}" for what, theirs, mine in pairs if theirs != mine]


def _raw(text: str) -> bytes | str:
    """A name as the bytes it came from (read_tar decodes with surrogateescape); the str itself if
    it holds characters no byte string produces, so that it compares unequal, visibly."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text


@dataclass
class Tally:
    """How the cases of a run fared, by the grammar's mood: the accepted/refused mix."""

    counts: Counter[tuple[str, str, bool]] = field(default_factory=Counter)  # (mood, verdict, Go ok)

    def add(self, mood: str, outcome: Outcome) -> None:
        self.counts[(mood, outcome.verdict, outcome.go.error is None)] += 1

    def total(self, verdict: str | None = None, go_ok: bool | None = None, mood: str | None = None) -> int:
        return sum(
            n
            for (m, v, ok), n in self.counts.items()
            if (verdict is None or v == verdict)
            and (go_ok is None or ok == go_ok)
            and (mood is None or m == mood)
        )

    def rows(self) -> list[tuple[str, ...]]:
        """A header, then one row per mood and one for all: cases, what Go read, each verdict."""
        moods = sorted({m for m, _, _ in self.counts}, key=lambda m: (m != "plain", m != "twisted", m))
        rows: list[tuple[str, ...]] = [TALLY_HEAD]
        for mood in [*moods, None]:
            counts = [self.total(mood=mood), self.total(go_ok=True, mood=mood), self.total(AGREE, mood=mood)]
            counts += [
                self.total(REFUSED, mood=mood),
                self.total(REFUSED, True, mood),
                self.total(DISAGREE, mood=mood),
            ]
            rows.append((mood or "all", *map(str, counts)))
        return rows

    def lines(self) -> list[str]:
        return [f"{row[0]:<8}" + "".join(f"{cell:>19}" for cell in row[1:]) for row in self.rows()]


TALLY_HEAD = (
    "mood",
    "cases",
    "Go reads",
    "both read alike",
    "imagegolf refuses",
    "(Go reads those)",
    "disagree",
)
