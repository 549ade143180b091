#!/usr/bin/env bash
# Runs inside a private network namespace (only `lo`), started by
# tests/test_gateway_interop.py: start OpenClaw's own Gateway on loopback, run
# our CLI's Gateway-first commands against it, stop it. Env from the caller:
# OUT HOME OC_NODE OC_PKG OUR_CLI GW_PORT. Each step writes OUT/<name>.{out,err,rc}.
set -uo pipefail
ip link set lo up 2>/dev/null || true
GW_PID=""
trap '[[ -n $GW_PID ]] && kill -KILL $GW_PID 2>/dev/null' EXIT
trap 'exit 143' TERM INT
export NO_COLOR=1 FORCE_COLOR=0 OPENCLAW_SKIP_CHANNELS=1 OPENCLAW_DISABLE_BONJOUR=1 OPENCLAW_SKIP_CRON=1 \
       OPENCLAW_SKIP_GMAIL_WATCHER=1 OPENCLAW_NO_AUTO_UPDATE=1 OPENCLAW_SKIP_CANVAS_HOST=1
unset OPENCLAW_STATE_DIR OPENCLAW_CONFIG_PATH OPENCLAW_GATEWAY_URL OPENCLAW_GATEWAY_TOKEN || true
export OPENCLAW_GATEWAY_PORT=$GW_PORT
"$OC_NODE" "$OC_PKG/openclaw.mjs" gateway run --port "$GW_PORT" --bind loopback > "$OUT/ref-gateway.log" 2>&1 &
GW_PID=$!
for i in $(seq 1 120); do
  grep -q '\[gateway\].*ready' "$OUT/ref-gateway.log" 2>/dev/null && break
  kill -0 $GW_PID 2>/dev/null || break
  sleep 0.5
done
step() {  # step NAME cmd...
  local name=$1; shift
  timeout 60 "$@" > "$OUT/$name.out" 2> "$OUT/$name.err" < /dev/null; echo $? > "$OUT/$name.rc"
}
for line in $STEPS; do
  IFS=: read -r name args <<< "$line"
  # shellcheck disable=SC2086
  step "$name" "$OUR_CLI" ${args//,/ }
done
kill -TERM $GW_PID 2>/dev/null
for i in $(seq 1 40); do kill -0 $GW_PID 2>/dev/null || break; sleep 0.25; done
kill -KILL $GW_PID 2>/dev/null; wait $GW_PID 2>/dev/null; GW_PID=""
echo done > "$OUT/finished"
