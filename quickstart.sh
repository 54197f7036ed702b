#!/usr/bin/env bash
# vpipe quick start on a fresh Debian/Ubuntu machine.
#   ./quickstart.sh demo [file]  set up, start the stack on an embedded nats-server, run the main job
#   ./quickstart.sh test         set up, fetch the real-media test corpus, then run the whole test suite (type check + vitest)
#   ./quickstart.sh setup        set up only
# Set-up installs what is missing and nothing else: apt packages (ffmpeg,
# util-linux, chromium), Node.js if absent, nats-server >= 2.10, and the npm packages.
set -euo pipefail
cd "$(dirname "$0")"

log() { printf '\033[1m[vpipe]\033[0m %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
APT_UPDATED=0
# apt-file adds Contents-* index targets that some mirrors and proxies do not
# serve (or serve mid-sync), and `apt-get update` then exits 100: the system
# update here skips them, and keeps the Contents lists apt-file already has
# (List-Cleanup would otherwise delete every list this update did not fetch).
APT_NO_CONTENTS=(-o Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false
                 -o Acquire::IndexTargets::deb::Contents-udeb::DefaultEnabled=false
                 -o Acquire::IndexTargets::deb-src::Contents-dsc::DefaultEnabled=false
                 -o APT::Get::List-Cleanup=false)
apt_update() {
  if [ "$APT_UPDATED" = 0 ]; then $SUDO apt-get update -qq "${APT_NO_CONTENTS[@]}"; APT_UPDATED=1; fi
}
apt_install() {
  command -v apt-get >/dev/null || { log "apt-get not found: install $* by hand"; exit 1; }
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

version_ge() { # version_ge 2.10.3 2.10 → true when $1 >= $2
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

ensure_os_packages() {
  local missing=()
  command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
  command -v prlimit >/dev/null && command -v setpriv >/dev/null || missing+=(util-linux)
  command -v dpkg-deb >/dev/null || missing+=(dpkg)
  if ! command -v node >/dev/null || ! version_ge "$(node -v | tr -d v)" 18.19; then missing+=(nodejs npm); fi
  # pip fetches the libvmaf-capable ffmpeg for VQS (deploy/fetch-vmaf-ffmpeg.sh); unzip unpacks it.
  command -v pip3 >/dev/null || command -v pip >/dev/null || python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
  command -v unzip >/dev/null || missing+=(unzip)
  # Debian's Chromium plays the packages in the browser tests (playwright-core drives /usr/bin/chromium; no browser download).
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # The studio's burn-ins and text watermarks draw with DejaVu Sans Mono.
  [ -r /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || missing+=(fonts-dejavu-core)
  if [ ${#missing[@]} -gt 0 ]; then log "installing ${missing[*]} with apt"; apt_install "${missing[@]}"; fi
  command -v npm >/dev/null || { log "installing npm with apt"; apt_install npm; }
}

# nats-server >= 2.10: one on PATH is used as is; else the OS package if new
# enough; else Debian 13's package (a static Go binary needing only libc),
# fetched with apt from a private list and unpacked into .tools/bin.
ensure_nats_server() {
  local v
  for c in "${VPIPE_NATS_SERVER:-}" .tools/bin/nats-server nats-server; do
    [ -n "$c" ] && command -v "$c" >/dev/null || continue
    v=$("$c" --version 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1 || true)
    if [ -n "$v" ] && version_ge "$v" 2.10; then log "nats-server $v: $c"; return; fi
  done
  if command -v apt-cache >/dev/null; then
    apt_update
    v=$(apt-cache policy nats-server 2>/dev/null | awk '/Candidate:/ {print $2}' | grep -oE '^[0-9]+\.[0-9]+\.[0-9]+' || true)
    if [ -n "$v" ] && version_ge "$v" 2.10; then log "installing nats-server $v with apt"; apt_install nats-server; return; fi
  fi
  log "the OS offers no nats-server >= 2.10: fetching Debian 13 (trixie)'s package into .tools/"
  local t; t=$(mktemp -d)
  mkdir -p "$t/lists/partial" "$t/archives/partial" "$t/parts"
  # Targets: Packages is all `apt-get download` needs; it keeps out every extra
  # index target that installed packages add globally (apt-file's Contents,
  # appstream's DEP-11, command-not-found's CNF), any of which can fail the update.
  cat >"$t/parts/trixie.sources" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Targets: Packages
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  local o=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$t/parts" -o "Dir::State::Lists=$t/lists"
           -o "Dir::Cache=$t" -o "Dir::Cache::Archives=$t/archives" -o "APT::Sandbox::User=root")
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || apt_install debian-archive-keyring
  apt-get "${o[@]}" update -qq
  (cd "$t" && apt-get "${o[@]}" download nats-server >/dev/null)
  dpkg-deb -x "$t"/nats-server_*.deb "$t/x"
  mkdir -p .tools/bin
  install -m 0755 "$t/x/usr/sbin/nats-server" .tools/bin/nats-server
  rm -rf "$t"
  log "nats-server $(.tools/bin/nats-server --version | grep -oE '[0-9.]+$'): .tools/bin/nats-server"
}

# Exactly the versions in package-lock.json, with `npm ci`, which refuses a lock
# out of sync with package.json: that fails set-up rather than resolving afresh.
# The hash of both files, kept in node_modules after a good install, skips
# reinstalling while they are unchanged.
ensure_npm_packages() {
  local h; h=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
  [ "$(cat node_modules/.vpipe-lock-hash 2>/dev/null)" = "$h" ] && return
  log "installing npm packages from package-lock.json (npm ci)"
  if ! npm ci --no-audit --no-fund --loglevel=error; then
    log "npm ci failed. If it says package.json and package-lock.json are not in sync, run 'npm install --package-lock-only' and commit package-lock.json."
    exit 1
  fi
  echo "$h" >node_modules/.vpipe-lock-hash
}

# The libvmaf-capable static ffmpeg for VQS (GPLv3; never fails set-up: without it VQS reports VMAF unavailable).
setup() { ensure_os_packages; ensure_nats_server; ensure_npm_packages; bash deploy/fetch-vmaf-ffmpeg.sh; }

cmd=${1:-demo}
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup ;;
  demo) setup; exec node bin/vpipe.js demo "$@" ;;
  test) setup; bash test/corpus/fetch-corpus.sh; npm run typecheck; exec npx vitest run "$@" ;;
  *) echo "usage: $0 demo [file] | test | setup" >&2; exit 2 ;;
esac
