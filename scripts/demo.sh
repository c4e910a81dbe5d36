#!/usr/bin/env bash
# Runs the demo hall: devices.yaml, every device simulated. Open
# http://127.0.0.1:8080/kiosk/ and http://127.0.0.1:8080/monitor/
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_go
# The window ranking's notice-board PDF embeds a TrueType CJK font; the demo runs without it (the
# PDF then answers a clear error), so a machine without root or sudo only gets a warning.
apt_install fonts-droid-fallback || echo ">> fonts-droid-fallback not installed: the ranking PDF (/supervise/ 窗口排名) needs a CJK .ttf" >&2
mkdir -p bin
CGO_ENABLED=0 go build -o bin/halld ./daemon
exec bin/halld run -config devices.yaml "$@"
