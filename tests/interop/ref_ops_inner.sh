#!/usr/bin/env bash
# Runs inside a private network namespace (only `lo`), started by
# tests/test_gateway_interop_ops.py (and by hand to record fixtures): start
# OpenClaw's own Gateway on loopback (GW_PORT), optionally behind the reference's
# logging relay (TAP_PORT, frames to OUT/frames.jsonl), run the real CLI's steps
# against it, stop it. Env from the caller: OUT HOME OC_NODE OC_PKG GW_PORT STEPS_FILE
# [TAP_PORT TAP OC_PY GW_CLIENT GW_TOKEN]. STEPS_FILE has one step a line: NAME<TAB>arg<TAB>arg...;
# each step writes OUT/<NAME>.{out,err,rc}.
set -uo pipefail
ip link set lo up 2>/dev/null || true
GW_PID=""; TAP_PID=""
trap '[[ -n $GW_PID ]] && kill -KILL $GW_PID 2>/dev/null; [[ -n $TAP_PID ]] && kill -KILL $TAP_PID 2>/dev/null' EXIT
trap 'exit 143' TERM INT
export NO_COLOR=1 FORCE_COLOR=0 OPENCLAW_SKIP_CHANNELS=1 OPENCLAW_DISABLE_BONJOUR=1 OPENCLAW_SKIP_CRON=1 \
       OPENCLAW_SKIP_GMAIL_WATCHER=1 OPENCLAW_NO_AUTO_UPDATE=1 OPENCLAW_SKIP_CANVAS_HOST=1
unset OPENCLAW_STATE_DIR OPENCLAW_CONFIG_PATH OPENCLAW_GATEWAY_URL OPENCLAW_GATEWAY_TOKEN || true
CLIENT_PORT=${TAP_PORT:-$GW_PORT}
if [[ -n ${TAP_PORT:-} ]]; then
  "$OC_PY" "$TAP" "$TAP_PORT" "$GW_PORT" "$OUT/frames.jsonl" 600 > "$OUT/tap.log" 2>&1 &
  TAP_PID=$!
fi
OPENCLAW_GATEWAY_PORT=$GW_PORT "$OC_NODE" "$OC_PKG/openclaw.mjs" gateway run --port "$GW_PORT" --bind loopback \
  > "$OUT/ref-gateway.log" 2>&1 &
GW_PID=$!
for i in $(seq 1 180); do
  grep -q '\[gateway\].*ready' "$OUT/ref-gateway.log" 2>/dev/null && break
  kill -0 $GW_PID 2>/dev/null || break
  sleep 0.5
done
export OPENCLAW_GATEWAY_PORT=$CLIENT_PORT
while IFS=$'\t' read -r -a argv; do
  [[ ${#argv[@]} -eq 0 ]] && continue
  name=${argv[0]}
  [[ -n ${TAP_PORT:-} ]] && echo "{\"marker\":\"$name\"}" >> "$OUT/frames.jsonl"
  if [[ ${argv[1]:-} == @py ]]; then  # NAME @py METHOD PARAMS [gw_client.py options]: the reference's Python client
    cmd=("$OC_PY" "$GW_CLIENT" --port "$CLIENT_PORT" --token "$GW_TOKEN" "${argv[@]:2}")
  else
    cmd=("$OC_NODE" "$OC_PKG/openclaw.mjs" "${argv[@]:1}")
  fi
  timeout 90 "${cmd[@]}" > "$OUT/$name.out" 2> "$OUT/$name.err" < /dev/null
  echo $? > "$OUT/$name.rc"
done < "$STEPS_FILE"
kill -TERM $GW_PID 2>/dev/null
for i in $(seq 1 40); do kill -0 $GW_PID 2>/dev/null || break; sleep 0.25; done
kill -KILL $GW_PID 2>/dev/null; wait $GW_PID 2>/dev/null; GW_PID=""
[[ -n $TAP_PID ]] && { kill -TERM $TAP_PID 2>/dev/null; wait $TAP_PID 2>/dev/null; TAP_PID=""; }
echo done > "$OUT/finished"
