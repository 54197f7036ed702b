#!/usr/bin/env bash
# Puts an ffmpeg with libvmaf at .tools/bin/ffmpeg-vmaf, for VQS's metric path
# only (encoding keeps the OS ffmpeg). Debian's ffmpeg is built without
# libvmaf, so this takes the static ffmpeg 7.0.2 (johnvansickle.com build,
# --enable-libvmaf, models built in) that the imageio-ffmpeg wheel ships,
# fetched with pip's ordinary client: `pip download --no-deps imageio-ffmpeg`.
#
# Idempotent and fast when cached: a binary already there that lists the
# libvmaf filter is kept as is. Never fatal: when pip or the wheel cannot be
# had, it warns and exits 0, and VQS then reports VMAF as unavailable (jobs
# that ask for VMAF are refused with TOOL_MISSING; `allowWithoutVmaf: true`
# still gets PSNR and SSIM). VPIPE_VMAF_FFMPEG points VQS at another build.
#
#   bash deploy/fetch-vmaf-ffmpeg.sh           # fetch if missing
#   bash deploy/fetch-vmaf-ffmpeg.sh --force   # fetch again
set -uo pipefail
cd "$(dirname "$0")/.."

WHEEL_PKG=imageio-ffmpeg==0.6.0
MEMBER=imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-v7.0.2
TARGET=.tools/bin/ffmpeg-vmaf

log() { printf '\033[1m[vpipe]\033[0m %s\n' "$*" >&2; }
warn() {
  log "WARNING: $* — VQS will report VMAF as unavailable (PSNR/SSIM still work with allowWithoutVmaf)."
  log "  To get VMAF: install pip (python3-pip) and rerun this script, or set VPIPE_VMAF_FFMPEG to an ffmpeg built with --enable-libvmaf."
  exit 0
}
# grep reads the whole list (no -q): with pipefail, ffmpeg killed by SIGPIPE would fail the check.
has_libvmaf() { [ -x "$1" ] && "$1" -hide_banner -filters 2>/dev/null | grep -E '^ [A-Z.]{3} libvmaf ' >/dev/null; }

if [ "${1:-}" != "--force" ] && has_libvmaf "$TARGET"; then
  log "ffmpeg with libvmaf: $TARGET (cached)"
  exit 0
fi
case "$(uname -sm)" in
  "Linux x86_64") ;;
  *) warn "the bundled static ffmpeg is for Linux x86_64 only, this is $(uname -sm)" ;;
esac

PIP=()
if command -v pip3 >/dev/null 2>&1; then PIP=(pip3)
elif command -v pip >/dev/null 2>&1; then PIP=(pip)
elif command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then PIP=(python3 -m pip)
else warn "pip is not installed, so the imageio-ffmpeg wheel cannot be fetched"
fi
command -v unzip >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1 || warn "neither unzip nor python3 is there to unpack the wheel"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log "fetching $WHEEL_PKG with ${PIP[*]} download (about 30 MB)"
if ! "${PIP[@]}" download --no-deps --only-binary=:all: --platform manylinux2014_x86_64 "$WHEEL_PKG" -d "$tmp" >"$tmp/pip.log" 2>&1 \
  && ! "${PIP[@]}" download --no-deps "$WHEEL_PKG" -d "$tmp" >>"$tmp/pip.log" 2>&1; then
  warn "pip could not find $WHEEL_PKG ($(tail -n 1 "$tmp/pip.log"))"
fi
whl=$(ls "$tmp"/imageio_ffmpeg-*manylinux*x86_64*.whl 2>/dev/null | head -n 1)
[ -n "$whl" ] || warn "pip fetched no manylinux x86_64 wheel of imageio-ffmpeg"
if command -v unzip >/dev/null 2>&1; then
  unzip -q -o "$whl" "$MEMBER" -d "$tmp/x" || warn "the wheel has no $MEMBER"
else
  python3 - "$whl" "$MEMBER" "$tmp/x" <<'PY' || warn "the wheel has no $MEMBER"
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])
PY
fi
mkdir -p .tools/bin
chmod +x "$tmp/x/$MEMBER"
# Rename into place: a concurrent run (two test files at once) never sees half a binary.
mv -f "$tmp/x/$MEMBER" "$TARGET.tmp.$$" && mv -f "$TARGET.tmp.$$" "$TARGET"
has_libvmaf "$TARGET" || warn "$TARGET runs but does not list the libvmaf filter"
log "ffmpeg with libvmaf: $TARGET ($("$TARGET" -hide_banner -version | head -n 1 | cut -d' ' -f1-3))"
