"""The seed's ladder of techniques, reproducible: one named strategy per rung.

Each rung builds its program with a real toolchain on the host (Go, gcc/glibc, musl-gcc, nasm +
ld, UPX, mmdebstrap), or copies a host binary, or uses imagegolf's own ELF; the image is always
written by imagegolf's OCI writer (deterministic). ``build_rung`` builds one;
``run_ladder`` walks several and checks each through the ``Check`` seam (default:
``engine_check``, a run in the real engine). A missing tool raises ``ToolMissing`` (its
``install`` is the apt command), which the ladder reports as SKIPPED.
"""

from imagegolf.ladder.check import LADDER_CAPS, Check, engine_check, verdict
from imagegolf.ladder.elfinfo import interpreter
from imagegolf.ladder.run import BUILD_FAILED, NOT_CHECKED, SKIPPED, RungResult, run_ladder, select
from imagegolf.ladder.rungs import STRATEGIES, build_rung, strategy
from imagegolf.ladder.strategy import ACCEPTED, START_FAILED, PostFigure, RungImage, Strategy
from imagegolf.ladder.tools import BuildFailed, ToolMissing, install_command

__all__ = [
    "ACCEPTED",
    "BUILD_FAILED",
    "LADDER_CAPS",
    "NOT_CHECKED",
    "SKIPPED",
    "START_FAILED",
    "STRATEGIES",
    "BuildFailed",
    "Check",
    "PostFigure",
    "RungImage",
    "RungResult",
    "Strategy",
    "ToolMissing",
    "build_rung",
    "engine_check",
    "install_command",
    "interpreter",
    "run_ladder",
    "select",
    "strategy",
    "verdict",
]
