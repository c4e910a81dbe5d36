# Shared by scripts/demo.sh and scripts/test.sh: make sure this Debian 12
# machine has what halld needs. Idempotent; prints what it installs.

GO_WANT=1.26.8

# apt_install installs Debian packages that are missing (needs root).
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo ">> installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

go_ok() {
  command -v go >/dev/null 2>&1 || return 1
  local v
  v=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
  [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$GO_WANT" "$v" | sort -V | head -1)" = "$GO_WANT" ]
}

# ensure_go puts Go >= $GO_WANT on PATH. Go 1.21+ switches toolchains by
# itself through the module proxy; Debian 12's own Go (1.19) cannot, so the
# toolchain module is fetched through the proxy with `go mod download`.
ensure_go() {
  export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
  go_ok && return 0
  command -v go >/dev/null 2>&1 || apt_install golang-go ca-certificates git
  export GOTOOLCHAIN="go$GO_WANT+auto"
  go_ok && return 0
  unset GOTOOLCHAIN
  local arch dir
  arch=$(dpkg --print-architecture)
  echo ">> fetching Go $GO_WANT toolchain through the module proxy"
  dir=$(cd /tmp && GOFLAGS=-mod=mod GO111MODULE=on go mod download -json "golang.org/toolchain@v0.0.1-go$GO_WANT.linux-$arch" |
    sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -x "$dir/bin/go" ] || chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/* 2>/dev/null
  export PATH="$dir/bin:$PATH"
  go_ok || { echo "cannot get Go $GO_WANT" >&2; return 1; }
}
