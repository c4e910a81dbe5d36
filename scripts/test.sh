#!/usr/bin/env bash
# Runs every test: vet, unit and integration tests (real ptys, real SQLite,
# a real halld killed with SIGKILL), a short run of each fuzz target, and the
# CGO_ENABLED=0 cross builds. Installs what it needs on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_go
apt_install ca-certificates git

echo ">> go vet"
CGO_ENABLED=0 go vet ./...

echo ">> build (CGO_ENABLED=0: amd64, arm64, arm/7)"
CGO_ENABLED=0 go build ./...
CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -o /dev/null ./daemon
CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 go build -o /dev/null ./daemon

echo ">> tests"
go test -count=1 -timeout 20m ./... 2>&1 | tee /tmp/halld-test.log | grep -v '^=== ' || { echo "tests failed"; exit 1; }

echo ">> fuzz (short)"
FUZZTIME=${FUZZTIME:-8s}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    echo "   $pkg $f"
    go test -run '^$' -fuzz "^$f\$" -fuzztime "$FUZZTIME" "$pkg" >/tmp/halld-fuzz.log 2>&1 || { cat /tmp/halld-fuzz.log; exit 1; }
  done
done
echo ">> all tests passed"
