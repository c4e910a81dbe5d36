#!/usr/bin/env bash
# Runs the demo hall: devices.yaml, every device simulated. Open
# http://127.0.0.1:8080/kiosk/ and http://127.0.0.1:8080/monitor/
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_go
mkdir -p bin
CGO_ENABLED=0 go build -o bin/halld ./daemon
exec bin/halld run -config devices.yaml "$@"
