#!/usr/bin/env bash
# Runs a command inside a cached Debian trixie chroot that has Swift 6 (swiftlang),
# because the host (bookworm) ships no Swift and there is no other registry for it.
#
# Usage: scripts/swift-chroot.sh [--setup-only] [--] [command...]
#   The repo and the cargo target dir are bind-mounted at the same paths as on the
#   host, so absolute paths (rpath, -L) agree on both sides. The command runs in
#   $MOTE_CHROOT_CWD (default: the repo root).
#   With no command, only creates/updates the chroot.
# Env: MOTE_SWIFT_CHROOT (default ~/.cache/mote/swift-trixie), CARGO_TARGET_DIR,
#      MOTE_CHROOT_BINDS: colon-separated extra host directories to mount (e.g. the models).
set -euo pipefail

root="${MOTE_SWIFT_CHROOT:-$HOME/.cache/mote/swift-trixie}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
mirror="${MOTE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
log() { echo "swift-chroot: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
  log "needs root (debootstrap, mount, chroot)"; exit 1
fi
if [ "${1:-}" = "--setup-only" ]; then shift; setup_only=1; else setup_only=0; fi
[ "${1:-}" = "--" ] && shift

# A marker file, written last, distinguishes a finished chroot from one whose
# creation was interrupted (debootstrap leaves a half-populated tree behind).
marker="$root/.mote-swift-ready"
mounted=()
cleanup() {
  local i
  for ((i=${#mounted[@]}-1; i>=0; i--)); do
    umount -l "${mounted[$i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT INT TERM

mount_once() { # type-or-bind source target
  local kind=$1 src=$2 dst=$3
  mkdir -p "$dst"
  if mountpoint -q "$dst"; then return 0; fi
  if [ "$kind" = bind ]; then mount --bind "$src" "$dst"; else mount -t "$kind" "$src" "$dst"; fi
  mounted+=("$dst")
}

if [ ! -f "$marker" ]; then
  command -v debootstrap >/dev/null || { log "installing debootstrap"; apt-get install -y debootstrap >&2; }
  if [ ! -x "$root/usr/bin/apt-get" ]; then
    log "debootstrap trixie into $root (about 1 min)"
    rm -rf "$root"; mkdir -p "$root"
    debootstrap --variant=minbase trixie "$root" "$mirror" >&2
  fi
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  mount_once proc proc "$root/proc"
  log "installing swiftlang (about 3.3 GB)"
  chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get update >&2
  chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends swiftlang libc6-dev libstdc++-14-dev >&2
  touch "$marker"
fi

[ "$setup_only" = 1 ] || [ $# -eq 0 ] && { log "ready: $root"; exit 0; }

cp /etc/resolv.conf "$root/etc/resolv.conf"
mount_once proc proc "$root/proc"
mount_once bind /dev "$root/dev"
mount_once bind "$repo" "$root$repo"
case "$target_dir" in
  "$repo"/*) ;; # already visible through the repo mount
  *) mount_once bind "$target_dir" "$root$target_dir" ;;
esac
IFS=: read -r -a extra_binds <<< "${MOTE_CHROOT_BINDS:-}"
for dir in "${extra_binds[@]}"; do
  [ -n "$dir" ] && mount_once bind "$dir" "$root$dir"
done

# No `exec`: the trap must run after the command to unmount.
chroot "$root" /usr/bin/env HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  bash -c 'cd "$0" && "$@"' "${MOTE_CHROOT_CWD:-$repo}" "$@"
