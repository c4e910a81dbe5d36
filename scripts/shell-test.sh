#!/usr/bin/env bash
# scripts/shell-test.sh — end-to-end test of kiosk-ui/shell (hall-kiosk, the
# webview shell) against a real halld, on a virtual X screen (Xvfb).
#
#   0. the blank-screenshot check fails on the empty screen;
#   1. kiosk:     halld up -> the shell shows /kiosk/ (probe file has 政务服务/取号),
#                 an Xvfb screenshot within SHOT_WAIT s (default 30) is not blank,
#                 SIGTERM -> exit 0;
#   2. reconnect: halld down -> "系统连接中…"; halld started -> kiosk within 10 s;
#                 halld stopped -> reconnect page again; SIGTERM -> exit 0.
#
# Installs what it needs (Debian packages, Go), idempotent. Prints PASS/FAIL
# and exits non-zero on failure. SHOT_DIR=dir keeps the screenshots there.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# ---------------------------------------------------------------- inner part
# Runs inside xvfb-run (DISPLAY set); everything it starts is recorded in
# $T/pids so the outer part can clean up whatever happens.
if [ "${1:-}" = "--inner" ]; then
  T=$HK_TMP PORT=$HK_PORT BASE="http://127.0.0.1:$HK_PORT" SHOT_WAIT=${SHOT_WAIT:-30}
  fail() { echo "FAIL: $*" >&2; exit 1; }
  now() { date +%s.%N; }
  since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
  HALLD_PID="" SHELL_PID=""

  start_halld() {
    "$T/halld" -config "$T/devices.yaml" -listen "127.0.0.1:$PORT" >>"$T/halld.log" 2>&1 &
    HALLD_PID=$!; echo "$HALLD_PID" >>"$T/pids"
    local i
    for i in $(seq 1 150); do
      curl -fsS -o /dev/null "$BASE/readyz" 2>/dev/null && return 0
      kill -0 "$HALLD_PID" 2>/dev/null || { tail -20 "$T/halld.log" >&2; fail "halld exited at start"; }
      sleep 0.1
    done
    fail "halld not ready within 15 s"
  }
  stop_halld() {
    kill -TERM "$HALLD_PID" 2>/dev/null; wait "$HALLD_PID" 2>/dev/null; HALLD_PID=""
  }
  start_shell() { # $1 probe file, $2 log
    "$T/hall-kiosk" -url "$BASE" -kiosk kiosk-1 -probe-file "$1" 2>>"$2" &
    SHELL_PID=$!; echo "$SHELL_PID" >>"$T/pids"
  }
  stop_shell() { # SIGTERM; the shell must exit 0
    kill -TERM "$SHELL_PID" 2>/dev/null
    local i
    for i in $(seq 1 100); do kill -0 "$SHELL_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SHELL_PID" 2>/dev/null && fail "shell still running 10 s after SIGTERM"
    wait "$SHELL_PID"; local rc=$?; SHELL_PID=""
    [ "$rc" -eq 0 ] || fail "shell exit status $rc after SIGTERM (want 0)"
  }
  wait_probe() { # $1 file, $2 page, $3 grep pattern, $4 timeout s
    local i
    for i in $(seq 1 $(($4 * 10))); do
      if [ -f "$1" ] && grep -qx "page=$2" "$1" && grep -qE "$3" "$1"; then return 0; fi
      kill -0 "$SHELL_PID" 2>/dev/null || fail "shell died (see $(basename "$1").log)"
      sleep 0.1
    done
    echo "--- probe file:" >&2; cat "$1" >&2 2>/dev/null
    fail "probe file did not show page=$2 matching /$3/ within $4 s"
  }
  SHOT_WHY=""
  shot_painted() { # $1 png: take a screenshot; true if it is not blank (stddev) and not a few colours
    import -window root "$1" || fail "import -window root failed"
    local sd colours
    sd=$(convert "$1" -colorspace Gray -format '%[fx:standard_deviation]' info:)
    colours=$(convert "$1" -format '%k' info:)
    SHOT_WHY="stddev=$sd colours=$colours"
    awk -v s="$sd" 'BEGIN{exit !(s > 0.02)}' && [ "$colours" -gt 16 ]
  }
  wait_painted() { # $1 png, $2 timeout s: screenshots until one shows a painted page
    # The probe file says the DOM is ready; WebKit paints later, and on a
    # fresh machine much later (fontconfig building its cache). A page that
    # never paints still fails, after $2 s.
    local t0 n=0 deadline
    t0=$(now); deadline=$(awk -v a="$t0" -v b="$2" 'BEGIN{printf "%.3f", a+b}')
    while :; do
      n=$((n + 1))
      shot_painted "$1" && { echo "   screenshot $(basename "$1"): $SHOT_WHY (painted after $(since "$t0") s, shot $n)"; return 0; }
      awk -v d="$deadline" -v t="$(now)" 'BEGIN{exit !(t < d)}' || break
      kill -0 "$SHELL_PID" 2>/dev/null || [ -z "$SHELL_PID" ] || fail "shell died while waiting for the first paint"
      sleep 0.5
    done
    echo "   screenshot $(basename "$1"): $SHOT_WHY after $n shots in $(since "$t0") s"
    return 1
  }
  check_shot() { # $1 png
    wait_painted "$1" "$SHOT_WAIT" || fail "$(basename "$1") looks blank ($SHOT_WHY) $SHOT_WAIT s after the page was shown"
  }

  # 0. the blank detector: the empty screen (no shell yet) must not pass.
  wait_painted "$T/shot-empty.png" 1 && fail "the empty screen passed as a painted page"
  echo "ok 0 the empty screen is judged blank"

  # 1. kiosk page
  t0=$(now)
  start_halld
  echo "   halld ready on $BASE in $(since "$t0") s"
  t1=$(now)
  start_shell "$T/probe-kiosk" "$T/shell-kiosk.log"
  wait_probe "$T/probe-kiosk" kiosk '政务服务|取号' 20
  echo "   kiosk page shown after $(since "$t1") s: $(grep '^title=' "$T/probe-kiosk")"
  wait_probe "$T/probe-kiosk" kiosk '^tiles=[1-9]' 20 # the service tiles came over the API
  echo "   service tiles rendered after $(since "$t1") s: $(grep '^tiles=' "$T/probe-kiosk")"
  check_shot "$T/shot-kiosk.png"
  stop_shell
  echo "ok 1 kiosk page, screenshot, SIGTERM -> exit 0 ($(since "$t0") s)"

  # 2. reconnect page
  t0=$(now)
  stop_halld
  start_shell "$T/probe-reconnect" "$T/shell-reconnect.log"
  wait_probe "$T/probe-reconnect" reconnect '系统连接中' 10
  echo "   reconnect page shown after $(since "$t0") s"
  check_shot "$T/shot-reconnect.png"
  t1=$(now)
  start_halld
  wait_probe "$T/probe-reconnect" kiosk '政务服务|取号' 10
  echo "   halld up -> kiosk page after $(since "$t1") s"
  t1=$(now)
  stop_halld
  wait_probe "$T/probe-reconnect" reconnect '系统连接中' 10
  echo "   halld down -> reconnect page after $(since "$t1") s"
  stop_shell
  echo "ok 2 reconnect: down -> 系统连接中, up -> kiosk, down -> 系统连接中; SIGTERM -> exit 0 ($(since "$t0") s)"
  grep -q 'level=ERROR' "$T"/shell-*.log && { grep 'level=ERROR' "$T"/shell-*.log >&2; fail "shell logged errors"; }
  exit 0
fi

# ---------------------------------------------------------------- outer part
START=$(date +%s)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
apt_install libwebkit2gtk-4.0-dev libgtk-3-dev xvfb xauth imagemagick fontconfig fonts-wqy-zenhei curl
ensure_go

# Build fontconfig's cache now: on a fresh machine WebKit would otherwise do it
# at its first paint, seconds after the page is shown (wait_painted copes with
# that too, up to SHOT_WAIT s).
t=$(date +%s)
fc-cache || echo "   fc-cache failed (rc $?); the first paint may be slow"
echo "   font cache ready in $(($(date +%s) - t)) s"

T=$(mktemp -d /tmp/hall-kiosk-test.XXXXXX)
: >"$T/pids"
cleanup() {
  local p
  while read -r p; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null; done <"$T/pids"
  [ -n "${XVFB_PID:-}" ] && kill -TERM "$XVFB_PID" 2>/dev/null
  if [ -n "${SHOT_DIR:-}" ]; then mkdir -p "$SHOT_DIR" && cp "$T"/*.png "$SHOT_DIR"/ 2>/dev/null; fi
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
finish() { # $1 rc
  if [ "$1" -eq 0 ]; then echo "PASS shell-test ($(($(date +%s) - START)) s)"
  else
    for f in "$T"/shell-*.log "$T/halld.log"; do [ -s "$f" ] && { echo "--- $(basename "$f") (tail)"; tail -15 "$f"; }; done
    echo "FAIL shell-test ($(($(date +%s) - START)) s)"
  fi
  exit "$1"
}

t=$(date +%s)
(cd "$ROOT/kiosk-ui/shell" && CGO_ENABLED=1 go build -o "$T/hall-kiosk" .) || { echo "build of kiosk-ui/shell failed"; finish 1; }
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$T/halld" ./daemon) || { echo "build of halld failed"; finish 1; }
echo "   built hall-kiosk and halld in $(($(date +%s) - t)) s"

# The demo hall; storage.dir ./data is relative to the config file, so the journal lands in $T/data.
cp "$ROOT/devices.yaml" "$T/devices.yaml"
sed -i 's#^\(  dir: \)[^ ]*#\1./data#' "$T/devices.yaml"
sed -i 's#listen: 127.0.0.1:18830 .*#listen: 127.0.0.1:0#' "$T/devices.yaml"  # the embedded broker on a free port

# A free loopback port.
for _ in $(seq 1 50); do
  PORT=$((20000 + RANDOM % 20000))
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
done

export HK_TMP="$T" HK_PORT="$PORT" NO_AT_BRIDGE=1
xvfb-run -a -s "-screen 0 1280x1024x24" bash "${BASH_SOURCE[0]}" --inner
finish $?
