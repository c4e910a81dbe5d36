#!/usr/bin/env bash
# Smoke test of the edge-box builds: halld for linux/arm64, linux/arm
# (GOARM=7), linux/loong64 (LoongArch, for 信创 procurement) and linux/riscv64,
# CGO_ENABLED=0, each run under qemu-user (Debian 12's qemu-user 7.2 has
# qemu-loongarch64 and qemu-riscv64) on the demo hall: it must pass
# `halld check`, get ready, issue and print a ticket, and stop cleanly on
# SIGTERM. CROSS_TARGETS picks some ("arm64 loong64"); default all four.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
port=18190
want=${CROSS_TARGETS:-arm64 arm loong64 riscv64}
for target in arm64:qemu-aarch64 arm:qemu-arm loong64:qemu-loongarch64 riscv64:qemu-riscv64; do
  arch=${target%%:*} qemu=${target##*:}
  case " $want " in *" $arch "*) ;; *) continue ;; esac
  command -v "$qemu" >/dev/null || { echo "cross smoke: $qemu missing (apt-get install qemu-user)"; exit 1; }
  started=$SECONDS
  port=$((port + 1))
  CGO_ENABLED=0 GOOS=linux GOARCH=$arch GOARM=7 go build -o "$work/halld-$arch" ./daemon
  mkdir -p "$work/$arch"
  sed "s#dir: ./data#dir: $work/$arch/data#; s#listen: 127.0.0.1:8080#listen: 127.0.0.1:$port#; s#listen: 127.0.0.1:18830 .*#listen: 127.0.0.1:0#" devices.yaml >"$work/$arch/devices.yaml"
  "$qemu" "$work/halld-$arch" check "$work/$arch/devices.yaml" >/dev/null
  "$qemu" "$work/halld-$arch" run -config "$work/$arch/devices.yaml" >"$work/$arch/log" 2>&1 &
  pid=$!
  ready=""
  for _ in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.2
  done
  [ -n "$ready" ] || { echo "cross smoke: $arch not ready"; cat "$work/$arch/log"; exit 1; }
  sleep 1 # printers answer their first status poll
  out=$(curl -sf -XPOST "http://127.0.0.1:$port/api/v1/tickets" -d '{"service":"company-setup","kiosk":"kiosk-1"}')
  echo "$out" | grep -q '"print_status":"printed"' || { echo "cross smoke: $arch ticket not printed: $out"; cat "$work/$arch/log"; exit 1; }
  kill -TERM $pid
  wait $pid || { echo "cross smoke: $arch did not stop cleanly"; cat "$work/$arch/log"; exit 1; }
  echo "   $arch under $qemu: built, checked, ready, ticket printed, clean stop ($((SECONDS - started)) s)"
done
