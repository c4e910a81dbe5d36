#!/usr/bin/env bash
# One peerbench step of halld with its metrics scraped every second during the load: the outbox lag
# (halld_uplink_lag_events) and the durable commits (halld_journal_commit_seconds), to see whether the
# commit or the uplink is what a line waits for. BENCHMARKS.md (issue 15, third round) was made with it.
#   usage: scripts/peerbench-step.sh OUTDIR RATE [PORTS=16] [MAX_INFLIGHT=32]
#   env:   PEERBENCH (a copy of ../shared/peerbench, default /tmp/peerbench), HALLD_BIN (default /tmp/halld)
# Prints peerbench's SUMMARY, the largest lag seen, and the commits' latency buckets over the load.
set -euo pipefail
OUT=$1 RATE=$2 PORTS=${3:-16} INF=${4:-32}
PB=${PEERBENCH:-/tmp/peerbench}
BIN=${HALLD_BIN:-/tmp/halld}
mkdir -p "$OUT"
cd "$PB"
[ -x harness/peerbench ] || (cd harness && go build -o peerbench .)
# The shipped adapter has no max_inflight key: a copy that sets it.
sed 's/client_id: peerbench-halld, node: \$NODE/client_id: peerbench-halld, node: $NODE, max_inflight: ${HALLD_INFLIGHT:-32}/' \
  halld/run-sut.sh > halld/run-sut-inflight.sh
chmod +x halld/run-sut-inflight.sh
read -ra HF <<< "$(halld/run-sut.sh --recv-flags)"
HALLD_BIN=$BIN HALLD_INFLIGHT=$INF ./harness/peerbench -label step -json "$OUT/result.json" -logdir "$OUT/log" \
  -broker-port 38830 -ui-port 38880 -mode exec -sut halld/run-sut-inflight.sh "${HF[@]}" \
  -ports "$PORTS" -rate "$RATE" -duration 15s -drain 10s > "$OUT/stdout.txt" 2>&1 &
pb=$!
for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:38880/metrics && break; sleep 0.1; done
for t in $(seq 1 20); do
  curl -s http://127.0.0.1:38880/metrics > "$OUT/metrics.$t" 2>/dev/null || true
  sleep 1
done
wait $pb || true
grep SUMMARY "$OUT/stdout.txt" || tail -3 "$OUT/stdout.txt"
python3 - "$OUT" <<'PY'
import glob, re, sys
d = sys.argv[1]
files = sorted(glob.glob(d + "/metrics.*"), key=lambda f: int(f.rsplit(".", 1)[1]))
snaps = []
for f in files:
    m = {}
    for l in open(f):
        if l.startswith("halld_uplink_lag_events "):
            m["lag"] = float(l.split()[1])
        b = re.match(r'halld_journal_commit_seconds_bucket\{le="([^"]+)"\} (\S+)', l)
        if b:
            m.setdefault("b", {})[b.group(1)] = float(b.group(2))
        if l.startswith("halld_journal_commit_seconds_count "):
            m["n"] = float(l.split()[1])
        if l.startswith("halld_journal_commit_seconds_sum "):
            m["s"] = float(l.split()[1])
    if "n" in m:
        snaps.append(m)
if len(snaps) < 2:
    sys.exit("no metrics scraped")
print("  largest outbox lag: %d events" % max(s.get("lag", 0) for s in snaps))
a, z = snaps[0], snaps[-1]
n = z["n"] - a["n"]
if n > 0:
    print("  commits: %d, mean %.2f ms; share at most:" % (n, (z["s"] - a["s"]) / n * 1000),
          ", ".join("%s s %.1f%%" % (k, (z["b"][k] - a["b"][k]) / n * 100) for k in ("0.0005", "0.001", "0.0025", "0.01", "0.1")))
PY
