#!/usr/bin/env bash
# Fetches the real-media test corpus: video files shipped inside Debian
# packages (OpenCV samples, SVCD/DVD templates, game and TeX demos...), listed
# in manifest.tsv next to this script. For each package that still has a file
# to deliver: `apt-get download` into a temporary folder, `dpkg-deb -x`, copy
# only the listed files into the cache under their flat names, check each
# sha256, and delete the .deb and the unpacked tree. Files already in the cache
# with the right sha256 are not fetched again, so a second run is a no-op.
#
#   bash test/corpus/fetch-corpus.sh      cache: ${VPIPE_CORPUS_DIR:-$HOME/.cache/vpipe/corpus}
#
# Runs as root or as a user with sudo (sudo only for `apt-get update`, which
# is run once, and only when a download fails: no or stale apt lists).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
manifest="$here/manifest.tsv"
dest="${VPIPE_CORPUS_DIR:-$HOME/.cache/vpipe/corpus}"

die() { printf 'fetch-corpus: %s\n' "$*" >&2; exit 1; }
for tool in apt-get dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null || die "$tool not found: the corpus comes from Debian packages (Debian/Ubuntu with apt)"
done
[ -r "$manifest" ] || die "no manifest at $manifest"

sha_of() { sha256sum <"$1" | cut -d' ' -f1; }

# Which packages still have a file to deliver; want[pkg] = "name<TAB>path<TAB>sha256" lines.
declare -A want=()
pkgs=()
total=0
while IFS=$'\t' read -r name pkg path sha _rest; do
  case "$name" in '' | '#'*) continue ;; esac
  [ -n "${pkg:-}" ] && [ -n "${path:-}" ] && [[ "${sha:-}" =~ ^[0-9a-f]{64}$ ]] || die "bad manifest line for '$name' in $manifest"
  total=$((total + 1))
  if [ -f "$dest/$name" ] && [ "$(sha_of "$dest/$name")" = "$sha" ]; then continue; fi
  [ -n "${want[$pkg]+set}" ] || pkgs+=("$pkg")
  want[$pkg]+="$name"$'\t'"$path"$'\t'"$sha"$'\n'
done <"$manifest"

if [ ${#pkgs[@]} -eq 0 ]; then
  echo "corpus: all $total files present in $dest"
  exit 0
fi
mkdir -p "$dest"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vpipe-corpus.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Fetches one package and delivers its files. Exit 10: the download failed
# (unknown package, stale or missing apt lists, network); other non-zero: a
# listed file is missing from the package or has another sha256 (in $d/err).
fetch_pkg() {
  local pkg=$1 d="$tmp/$1" start=$SECONDS deb version name path sha src got names=""
  rm -rf "$d" && mkdir -p "$d/deb" "$d/x"
  # The sandbox option keeps apt from trying to write as _apt into a root-only folder.
  (cd "$d/deb" && apt-get -q -o APT::Sandbox::User=root download "$pkg") >"$d/log" 2>&1 || return 10
  deb=$(find "$d/deb" -maxdepth 1 -name '*.deb' | head -n1)
  [ -n "$deb" ] || return 10
  version=$(dpkg-deb -f "$deb" Version)
  dpkg-deb -x "$deb" "$d/x"
  rm -f "$deb"
  while IFS=$'\t' read -r name path sha; do
    [ -n "$name" ] || continue
    src="$d/x/$path"
    if [ -L "$src" ] || [ ! -f "$src" ]; then
      echo "$pkg $version has no regular file /$path (needed for $name)" >"$d/err"
      return 11
    fi
    cp "$src" "$dest/.$name.part.$$"
    got=$(sha_of "$dest/.$name.part.$$")
    if [ "$got" != "$sha" ]; then
      rm -f "$dest/.$name.part.$$"
      echo "$name from $pkg $version has sha256 $got, the manifest wants $sha (the manifest pins Debian 12 bookworm's files)" >"$d/err"
      return 12
    fi
    mv -f "$dest/.$name.part.$$" "$dest/$name"
    names+=" $name"
  done <<<"${want[$pkg]}"
  rm -rf "$d"
  echo "corpus: $pkg $version:$names ($((SECONDS - start)) s)"
}

# Fetches the packages in parallel; sets `failed` to those whose download failed.
fetch_all() {
  local -A pid=()
  local pkg rc
  failed=()
  for pkg in "$@"; do
    fetch_pkg "$pkg" &
    pid[$pkg]=$!
  done
  local errors=()
  for pkg in "$@"; do
    rc=0
    wait "${pid[$pkg]}" || rc=$?
    case $rc in
      0) ;;
      10) failed+=("$pkg") ;;
      *) errors+=("$(cat "$tmp/$pkg/err" 2>/dev/null || echo "fetching $pkg failed ($rc)")") ;;
    esac
  done
  [ ${#errors[@]} -eq 0 ] || die "$(printf '%s\n' "${errors[@]}")"
}

fetch_all "${pkgs[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  # No lists (fresh image) or stale ones (a version the mirror no longer has): update once and retry.
  # apt-file adds Contents-* index targets that some mirrors and proxies do not
  # serve, and `apt-get update` then exits 100: leave them out of this update.
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "apt-get download ${failed[*]} failed and updating the apt lists needs root or sudo"
    SUDO="sudo"
  fi
  echo "corpus: apt-get download ${failed[*]} failed; running apt-get update" >&2
  $SUDO apt-get update -qq \
    -o Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false \
    -o Acquire::IndexTargets::deb::Contents-udeb::DefaultEnabled=false \
    -o Acquire::IndexTargets::deb-src::Contents-dsc::DefaultEnabled=false ||
    die "apt-get update failed"
  fetch_all "${failed[@]}"
  for pkg in "${failed[@]}"; do
    sed 's/^/  /' "$tmp/$pkg/log" >&2
  done
  [ ${#failed[@]} -eq 0 ] || die "could not download ${failed[*]} (not in this machine's apt sources? the corpus is taken from Debian 12 bookworm main)"
fi
