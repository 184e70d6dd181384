#!/usr/bin/env bash
# What the PWA's tests need beyond node/npm: web/node_modules (npm ci when missing or older
# than the lockfile) and a browser at /usr/bin/chromium (Debian's `chromium`; playwright's
# own browser download does not work on these machines). A CJK font is installed too when
# none is present, so the zh-CN screenshot shows characters, not boxes.
# Idempotent; quiet when everything is there.
set -euo pipefail

WEB="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$WEB"

say() { echo "web setup: $*"; }

stamp=node_modules/.package-lock.json
if [[ ! -f "$stamp" || package-lock.json -nt "$stamp" ]]; then
  say "npm ci (web/)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    return 1
  fi
}

apt_updated=""
apt_install() {
  command -v apt-get >/dev/null || return 1
  if [[ -z "$apt_updated" ]]; then
    as_root apt-get update -qq || return 1
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM" ]]; then
  say "installing chromium (apt-get) for the browser tests"
  apt_install chromium || {
    echo "web setup: error: $CHROMIUM is missing and could not be installed; as root: apt-get update && apt-get install -y chromium" >&2
    exit 1
  }
fi

if command -v fc-list >/dev/null && [[ -z "$(fc-list :lang=zh 2>/dev/null | head -1)" ]]; then
  say "installing a CJK font (fonts-wqy-microhei) for the zh-CN screenshot"
  apt_install fonts-wqy-microhei >/dev/null || say "warning: no CJK font; the zh-CN screenshot will show boxes"
fi
