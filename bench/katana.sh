#!/usr/bin/env bash
# Katana tickets beside opaque tokens, same binary, same run (docs/performance.md, issue 21):
# two servers on fresh SQLite files with the demo data, one without a machineKey (opaque
# tokens), one with the demo machineKey (Katana tickets); wrk drives Katana's POST /token
# (password grant at a cheap hash cost, so the token's own cost shows) and POST
# /oauth2/introspect of one token. Usage: bench/katana.sh BINARY [SECONDS] [CONNECTIONS]
set -euo pipefail
BIN=${1:?binary}; SECS=${2:-10}; CONNS=${3:-4}
DIR=$(mktemp -d); trap 'kill $(cat "$DIR"/*.pid 2>/dev/null) 2>/dev/null; rm -rf "$DIR"' EXIT
HERE=$(cd "$(dirname "$0")/.." && pwd)
cat > "$DIR/token.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "grant_type=password&userName=alice&password=alice-password-1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA
cat > "$DIR/introspect.lua" <<'LUA'
local f = io.open(os.getenv("TOKEN_FILE"), "r"); local token = f:read("*l"); f:close()
wrk.method = "POST"
wrk.body = "token=" .. token
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic ZGVtby1jbGllbnQ6ZGVtby1zZWNyZXQ="
LUA
start() { # name port extra-args...
  local name=$1 port=$2; shift 2
  "$BIN" import "$HERE/crates/domain/demo.json" --database "$DIR/$name.db" --hash-iterations 1000 >/dev/null
  "$BIN" serve --database "$DIR/$name.db" --bind 127.0.0.1:$port --hash-iterations 1000 \
     --lockout-free-failures 0 --log warn "$@" > "$DIR/$name.log" 2>&1 & echo $! > "$DIR/$name.pid"
  for _ in $(seq 50); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && return; sleep 0.2; done
  echo "$name did not start" >&2; cat "$DIR/$name.log" >&2; exit 1
}
cp "$HERE/docs/demo/machinekey.demo.config" "$DIR/mk.config"; chmod 600 "$DIR/mk.config"
start opaque 18931
start katana 18932 --katana-machine-key "$DIR/mk.config"
row() { # label url lua
  local out; out=$(wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$3" "$2" 2>&1)
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out"); p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$CONNS" "$rps" "$p50" "$p99"
}
echo "| what | connections | req/s | p50 | p99 |"; echo "|---|---|---|---|---|"
for kind in opaque katana; do
  port=$([ $kind = opaque ] && echo 18931 || echo 18932)
  row "\`/token\` grant, $kind" "http://127.0.0.1:$port/token" "$DIR/token.lua"
done
for kind in opaque katana; do
  port=$([ $kind = opaque ] && echo 18931 || echo 18932)
  curl -s -d 'grant_type=password&userName=alice&password=alice-password-1' http://127.0.0.1:$port/token \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' > "$DIR/$kind.token"
  printf '<!-- %s token: %s characters -->\n' "$kind" "$(tr -d '\n' < "$DIR/$kind.token" | wc -c)"
  TOKEN_FILE="$DIR/$kind.token" row "\`/oauth2/introspect\`, $kind" "http://127.0.0.1:$port/oauth2/introspect" "$DIR/introspect.lua"
done
