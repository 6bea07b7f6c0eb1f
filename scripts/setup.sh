#!/usr/bin/env bash
# Install everything imagegolf needs on Debian 12, idempotently:
#   apt packages (PostgreSQL and Chromium too, for the contest's tests), gVisor's runsc and its
#   dockerd runtime entry, binfmt_misc entries with the F flag, a podman drop-in for hybrid-cgroup
#   hosts, and the project's virtualenv in .venv.
# Run as root, or as a sudo user (it re-runs itself with sudo).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "$(id -u)" -ne 0 ]; then
    exec sudo --preserve-env=CI,IMAGEGOLF_PODMAN_RUNTIME "$0" "$@"
fi

say() { printf '[setup] %s\n' "$*" >&2; }

APT_PACKAGES=(
    python3 python3-venv python3-pip make git ca-certificates tar gzip
    podman runc uidmap fuse-overlayfs slirp4netns catatonit
    skopeo buildah containerd docker.io
    qemu-user-static binfmt-support busybox-static
    docker-registry apache2-utils openssl
    gcc libc6-dev binutils golang-go musl-tools nasm mmdebstrap arch-test gpg mount libdpkg-perl debian-archive-keyring
    zstd
    postgresql
    chromium fonts-dejavu-core fonts-liberation
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing apt packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Install without starting services (docker.io, containerd, docker-registry and postgresql
    # would start daemons, the registry on every interface): tests start their own on private sockets.
    own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        own_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
fi
# bookworm-backports, for what Debian 12 lacks or ships too old; its index is fetched once per run.
BACKPORTS=0
backports() {
    grep -q 'VERSION_CODENAME=bookworm' /etc/os-release || return 1
    if [ "$BACKPORTS" = 0 ]; then
        cat > /etc/apt/sources.list.d/imagegolf-bookworm-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
        apt-get update -qq
        BACKPORTS=1
    fi
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
# UPX (the ladder's go-upx and c-glibc-upx rungs) is only in bookworm-backports on Debian 12.
if ! installed upx-ucl && backports; then
    say "installing upx-ucl from bookworm-backports"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports upx-ucl >/dev/null \
        || say "upx-ucl could not be installed: the ladder's UPX rungs will be SKIPPED"
fi
# gVisor's runsc (`judge --runtime runsc`): bookworm-backports' 0.0~20240729 (the default platform is
# systrap; bookworm's own 0.0~20221219 uses ptrace), else the distribution's.
RUNSC_WANT="0.0~20240729"
runsc_version="$(dpkg-query -W -f='${Version}' runsc 2>/dev/null || true)"
if ! installed runsc || dpkg --compare-versions "$runsc_version" lt "$RUNSC_WANT"; then
    if backports && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            -t bookworm-backports runsc >/dev/null; then
        say "installed runsc $(dpkg-query -W -f='${Version}' runsc) from bookworm-backports"
    elif ! installed runsc; then
        [ "$BACKPORTS" = 1 ] || apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends runsc >/dev/null \
            || say "runsc could not be installed: judging with --runtime runsc will stop with exit 3"
    fi
fi
# Debian's docker-registry starts a service on :5000 on all interfaces; tests run their own on 127.0.0.1.
# Debian's postgresql starts a cluster on :5432; tests run their own on a private port and socket.
if [ -d /run/systemd/system ]; then
    systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
    systemctl disable --now postgresql.service >/dev/null 2>&1 || true
fi

# binfmt_misc with the F flag: the kernel opens qemu at registration time, so foreign-arch
# binaries run inside containers whose root has no qemu (Debian registers without F).
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || say "cannot mount binfmt_misc: foreign-arch images will not run"
fi
if [ -e /proc/sys/fs/binfmt_misc/register ]; then
    update-binfmts --enable >/dev/null 2>&1 || true
    for arch in aarch64 arm riscv64 ppc64le s390x mips64el; do
        entry="/proc/sys/fs/binfmt_misc/qemu-$arch"
        static="/usr/bin/qemu-$arch-static"
        [ -e "$entry" ] && [ -x "$static" ] || continue
        grep -q '^flags:.*F' "$entry" && continue
        magic="$(sed -n 's/^magic //p' "$entry")"
        mask="$(sed -n 's/^mask //p' "$entry")"
        offset="$(sed -n 's/^offset //p' "$entry")"
        echo -1 > "$entry"
        hexesc() { sed 's/\(..\)/\\x\1/g' <<<"$1"; }
        printf ':qemu-%s:M:%s:%s:%s:%s:F' "$arch" "$offset" "$(hexesc "$magic")" "$(hexesc "$mask")" "$static" \
            > /proc/sys/fs/binfmt_misc/register
        say "binfmt qemu-$arch re-registered with the F flag"
    done
fi

# podman: crun cannot run containers on cgroup v1 / hybrid hosts, and there the runtime
# also needs explicit nofile/nproc limits. A pure cgroup v2 host is left as it is.
DROPIN=/etc/containers/containers.conf.d/50-imagegolf.conf
if [ ! -e /sys/fs/cgroup/cgroup.controllers ]; then
    mkdir -p "$(dirname "$DROPIN")"
    cat > "$DROPIN" <<'CONF'
# Written by imagegolf's scripts/setup.sh: this host has a cgroup v1/hybrid hierarchy.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
CONF
fi

# dockerd: runsc as a runtime (per container: `docker run --runtime runsc`, and imagegolf's judge
# through Docker's socket), with the flags imagegolf's sandbox needs (engine/runtimes.py RUNSC_FLAGS:
# no network stack; without it runsc fails on this kind of host and leaves its sandbox behind). An
# existing "runsc" entry is left as it is. dockerd reloads its runtimes on SIGHUP.
RUNSC_BIN="$(command -v runsc || true)"
if [ -n "$RUNSC_BIN" ] && command -v dockerd >/dev/null 2>&1; then
    mkdir -p /etc/docker
    changed="$(python3 - "$RUNSC_BIN" <<'PY'
import json, os, sys
path = "/etc/docker/daemon.json"
conf = {}
if os.path.exists(path) and os.path.getsize(path):
    with open(path) as f:
        conf = json.load(f)
runtimes = conf.setdefault("runtimes", {})
if "runsc" in runtimes:
    if "--network=none" not in runtimes["runsc"].get("runtimeArgs", []):
        print("kept")  # the organiser's own entry: imagegolf's judge refuses it, saying why
    sys.exit(0)
runtimes["runsc"] = {"path": sys.argv[1], "runtimeArgs": ["--network=none"]}
with open(path + ".tmp", "w") as f:
    json.dump(conf, f, indent=2)
    f.write("\n")
os.replace(path + ".tmp", path)
print("added")
PY
)"
    case "$changed" in
        added)
            say "registered runsc with dockerd (/etc/docker/daemon.json)"
            if [ -d /run/systemd/system ] && systemctl is-active --quiet docker.service; then
                systemctl reload docker.service || say "reload dockerd to use runsc"
            fi ;;
        kept) say "/etc/docker/daemon.json has its own runsc runtime without --network=none: imagegolf's judge will not use it" ;;
    esac
fi

# The project's virtualenv, reinstalled when pyproject.toml changes.
VENV="$ROOT/.venv"
STAMP="$VENV/.imagegolf-installed"
PY="$(command -v python3)"
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
    say "creating the virtualenv in $VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q -e "$ROOT[all,dev]"  # every extra, and the test tools
    echo "$want" > "$STAMP"
fi
if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
    chown -R "$SUDO_USER": "$VENV" 2>/dev/null || true
fi
say "ready"
