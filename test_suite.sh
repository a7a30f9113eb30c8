#!/usr/bin/env bash
# The API suite against a running stack (`npm start`, or `docker compose up`):
# both REST generations and their validation errors, node and proxy endpoints,
# WebSocket and gRPC delivery, delivery across proxies, replay after
# reconnecting to the other proxy, and thresholds.
#
#   ./test_suite.sh
#   PROXY_URL=http://host:8081 PROXY2_URL=http://host:8082 NODE_URL=http://host:9091 ./test_suite.sh
#
# PROXY_GRPC (default: PROXY_URL's host, port 50051) is the gRPC ProxyStream;
# WAIT (default 20) bounds, in seconds, every wait for a delivery.
# Prints one PASS/FAIL line per check, then "N passed, N failed"; exits 1 on any failure.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -uo pipefail

PROXY_URL=${PROXY_URL:-http://localhost:8081}
PROXY2_URL=${PROXY2_URL:-http://localhost:8082}
NODE_URL=${NODE_URL:-http://localhost:9091}
proxy_host=${PROXY_URL#*://}
proxy_host=${proxy_host%%[:/]*}
PROXY_GRPC=${PROXY_GRPC:-$proxy_host:50051}
WAIT=${WAIT:-20}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUN="$(date +%s)-$$"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/test-suite.XXXXXX")"
PASSED=0
FAILED=0
BACKGROUND=()

cleanup() {
  local pid
  for pid in "${BACKGROUND[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

pass() {
  PASSED=$((PASSED + 1))
  echo "PASS $1"
}
fail() {
  FAILED=$((FAILED + 1))
  echo "FAIL $1: $2"
}

# request METHOD URL [JSON]: sets STATUS and BODY.
request() {
  local out
  if [ $# -ge 3 ]; then
    out=$(curl -sS -m 10 -w $'\n%{http_code}' -X "$1" -H 'content-type: application/json' --data-binary "$3" "$2" 2>&1)
  else
    out=$(curl -sS -m 10 -w $'\n%{http_code}' -X "$1" "$2" 2>&1)
  fi
  STATUS=${out##*$'\n'}
  BODY=${out%$'\n'*}
}

# check NAME STATUS SUBSTRING METHOD URL [JSON]: the answer has that status and contains SUBSTRING.
check() {
  local name=$1 want_status=$2 want=$3
  shift 3
  request "$@"
  if [ "$STATUS" != "$want_status" ]; then
    fail "$name" "HTTP $STATUS (wanted $want_status): ${BODY:0:200}"
  elif [[ "$BODY" != *"$want"* ]]; then
    fail "$name" "answer lacks '$want': ${BODY:0:200}"
  else
    pass "$name"
  fi
}

subscribe() { # URL CLIENT TOPIC THRESHOLD
  request POST "$1/api/v1/subscribe" "{\"client_id\":\"$2\",\"topic\":\"$3\",\"threshold\":$4}"
  [[ "$BODY" == *'"status":"subscribed"'* ]]
}
publish() { # URL CLIENT TOPIC MESSAGE
  request POST "$1/api/v1/publish" "{\"client_id\":\"$2\",\"topic\":\"$3\",\"message\":\"$4\"}"
  [[ "$BODY" == *'"status":"published"'* ]]
}
b64() { printf '%s' "$1" | base64 | tr -d '\n'; }

# wait_for FILE PATTERN: until a line of FILE matches (grep -E), at most WAIT seconds.
wait_for() {
  local deadline=$((SECONDS + WAIT))
  while [ $SECONDS -le $deadline ]; do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# ws_listen URL FILE: a WebSocket client in the background (wscat when installed, else
# infra/scripts/ws-receive.mjs, which prints the same lines); sets WS_PID.
ws_listen() {
  if command -v wscat >/dev/null 2>&1; then
    wscat -c "$1" < <(sleep $((WAIT * 4))) > "$2" 2>&1 &
  else
    node "$ROOT/infra/scripts/ws-receive.mjs" "$1" > "$2" 2>&1 &
  fi
  WS_PID=$!
  BACKGROUND+=("$WS_PID")
  wait_for "$2" '^Connected'
}
ws_url() { # HTTP_URL CLIENT
  local base=${1/#http:/ws:}
  echo "${base/#https:/wss:}/api/v1/ws?client_id=$2"
}
ws_stop() {
  kill "$WS_PID" 2>/dev/null
  wait "$WS_PID" 2>/dev/null
}

if ! command -v curl >/dev/null 2>&1; then
  echo "test_suite.sh needs curl" >&2
  exit 2
fi
echo "== stack: proxies $PROXY_URL $PROXY2_URL (gRPC $PROXY_GRPC), node $NODE_URL; run $RUN"
if ! curl -s -m 5 -o /dev/null "$PROXY_URL/api/v1/health" && ! curl -s -m 5 -o /dev/null "$NODE_URL/api/v1/health"; then
  fail "stack reachable" "nothing answers at $PROXY_URL or $NODE_URL: start the stack (npm start, or docker compose up) or set PROXY_URL/NODE_URL"
  echo
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi

echo "== node API"
check "node health" 200 '"status":"ok"' GET "$NODE_URL/api/v1/health"
check "node health reports the mode" 200 '"mode":"' GET "$NODE_URL/api/v1/health"
check "node state" 200 '"pub_key"' GET "$NODE_URL/api/v1/node-state"
check "node state lists peers" 200 '"peers":["' GET "$NODE_URL/api/v1/node-state"
check "node version" 200 '"commit_hash"' GET "$NODE_URL/api/v1/version"

echo "== proxy API"
for url in "$PROXY_URL" "$PROXY2_URL"; do
  check "proxy health ($url)" 200 '"status":"ok"' GET "$url/api/v1/health"
  check "proxy state ($url)" 200 '"nodes":[' GET "$url/api/v1/state"
  check "proxy version ($url)" 200 '"commit_hash"' GET "$url/api/v1/version"
done
request GET "$PROXY_URL/api/v1/health"
NODES=$(grep -oE '"nodes":[0-9]+' <<<"$BODY" | grep -oE '[0-9]+$')
NODES=${NODES:-1}

# family_checks PREFIX MISSING_CLIENT MISSING_TOPIC MISSING_MESSAGE: what both route generations do, with their phrases.
# Leaves C (subscribed to T) for the family's own checks.
family_checks() {
  local prefix=$1 no_client=$2 no_topic=$3 no_message=$4 ok i
  C="suite-$RUN${prefix//\//-}"
  T="$C-topic"
  check "$prefix: subscribe" 200 '"status":"subscribed"' POST "$PROXY_URL$prefix/subscribe" "{\"client_id\":\"$C\",\"topic\":\"$T\",\"threshold\":0.1}"
  check "$prefix: subscribe with an empty topic" 400 "$no_topic" POST "$PROXY_URL$prefix/subscribe" "{\"client_id\":\"$C\",\"topic\":\"\",\"threshold\":0.1}"
  check "$prefix: subscribe without a topic" 400 "$no_topic" POST "$PROXY_URL$prefix/subscribe" "{\"client_id\":\"$C\",\"threshold\":0.1}"
  check "$prefix: subscribe with an empty client id" 400 "$no_client" POST "$PROXY_URL$prefix/subscribe" "{\"client_id\":\"\",\"topic\":\"$T\",\"threshold\":0.1}"
  check "$prefix: subscribe with invalid JSON" 400 'invalid JSON' POST "$PROXY_URL$prefix/subscribe" '{"client_id": "x", "topic": '
  check "$prefix: subscribe with a threshold above 1" 400 'threshold must be a number from 0 to 1' POST "$PROXY_URL$prefix/subscribe" "{\"client_id\":\"$C\",\"topic\":\"$T\",\"threshold\":1.5}"
  check "$prefix: subscribe with a threshold that is not a number" 400 'threshold must be a number from 0 to 1' POST "$PROXY_URL$prefix/subscribe" "{\"client_id\":\"$C\",\"topic\":\"$T\",\"threshold\":\"high\"}"
  check "$prefix: publish" 200 '"status":"published"' POST "$PROXY_URL$prefix/publish" "{\"client_id\":\"$C\",\"topic\":\"$T\",\"message\":\"hello\"}"
  check "$prefix: publish answers a message_id" 200 '"message_id":"' POST "$PROXY_URL$prefix/publish" "{\"client_id\":\"$C\",\"topic\":\"$T\",\"message\":\"hello again\"}"
  check "$prefix: publish to a topic never subscribed" 403 'topic not assigned' POST "$PROXY_URL$prefix/publish" "{\"client_id\":\"$C\",\"topic\":\"non-existent-topic\",\"message\":\"x\"}"
  check "$prefix: publish an empty message" 400 "$no_message" POST "$PROXY_URL$prefix/publish" "{\"client_id\":\"$C\",\"topic\":\"$T\",\"message\":\"\"}"
  check "$prefix: publish without a message" 400 "$no_message" POST "$PROXY_URL$prefix/publish" "{\"client_id\":\"$C\",\"topic\":\"$T\"}"
  check "$prefix: publish without a topic" 400 "$no_topic" POST "$PROXY_URL$prefix/publish" "{\"client_id\":\"$C\",\"message\":\"x\"}"
  check "$prefix: publish without a client id" 400 "$no_client" POST "$PROXY_URL$prefix/publish" "{\"topic\":\"$T\",\"message\":\"x\"}"
  check "$prefix: publish with invalid JSON" 400 'invalid JSON' POST "$PROXY_URL$prefix/publish" 'not json'
  ok=0
  for i in 1 2 3 4 5; do
    request POST "$PROXY_URL$prefix/publish" "{\"client_id\":\"$C\",\"topic\":\"$T\",\"message\":\"rapid $i\"}"
    [[ "$BODY" == *'"status":"published"'* ]] && ok=$((ok + 1))
  done
  [ $ok -eq 5 ] && pass "$prefix: five rapid publishes" || fail "$prefix: five rapid publishes" "$ok of 5 published"
}

echo "== seed routes (/api/*)"
family_checks /api 'client_id is missing' 'topic is missing' 'message is missing'

echo "== current routes (/api/v1/*)"
family_checks /api/v1 'missing client ID' 'missing topic' 'either message or message_length must be provided'
check "publish message_length (random payload)" 200 '"status":"published"' POST "$PROXY_URL/api/v1/publish" "{\"client_id\":\"$C\",\"topic\":\"$T\",\"message_length\":1024}"
ts=$(($(date +%s) * 1000))
request POST "$PROXY_URL/api/v1/publish" "{\"client_id\":\"$C\",\"topic\":\"$T\",\"message\":\"once\",\"timestamp\":$ts}"
check "publish retried with the same timestamp" 200 '"status":"deduplicated"' POST "$PROXY_URL/api/v1/publish" "{\"client_id\":\"$C\",\"topic\":\"$T\",\"message\":\"once\",\"timestamp\":$ts}"
check "publish over the size limit" 413 'limit' POST "$PROXY_URL/api/v1/publish" "{\"client_id\":\"$C\",\"topic\":\"$T\",\"message_length\":67108864}"
check "topics of a client" 200 "\"topics\":[\"$T\"]" GET "$PROXY_URL/api/v1/topics?client_id=$C"
check "topics without a client ID" 400 'missing client ID' GET "$PROXY_URL/api/v1/topics"
check "unsubscribe" 200 '"status":"unsubscribed"' POST "$PROXY_URL/api/v1/unsubscribe" "{\"client_id\":\"$C\",\"topic\":\"$T\"}"
check "publish after unsubscribing" 403 'topic not assigned' POST "$PROXY_URL/api/v1/publish" "{\"client_id\":\"$C\",\"topic\":\"$T\",\"message\":\"x\"}"

echo "== WebSocket delivery, across proxies, and replay"
T="suite-$RUN-ws"
R="suite-$RUN-ws-reader"
W="suite-$RUN-ws-writer"
if subscribe "$PROXY_URL" "$R" "$T" 0.25 && subscribe "$PROXY2_URL" "$W" "$T" 0.25; then
  if ws_listen "$(ws_url "$PROXY_URL" "$R")" "$WORK/ws1"; then
    pass "WebSocket connect ($PROXY_URL)"
    publish "$PROXY_URL" "$W" "$T" "ws-same-$RUN" || fail "publish for the WebSocket" "$BODY"
    if wait_for "$WORK/ws1" "^< .*\"message\":\"$(b64 "ws-same-$RUN")\""; then
      pass "WebSocket receive"
      line=$(grep -E "$(b64 "ws-same-$RUN")" "$WORK/ws1" | head -1)
      [[ "$line" == *'"source_node_id":"'* && "$line" == *'"message_id":"'* && "$line" == *"\"topic\":\"$T\""* ]] &&
        pass "WebSocket frame carries source_node_id, topic, message_id" || fail "WebSocket frame fields" "$line"
    else
      fail "WebSocket receive" "no frame within ${WAIT}s: $(tail -3 "$WORK/ws1")"
    fi
    publish "$PROXY2_URL" "$W" "$T" "ws-cross-$RUN" || fail "publish through the second proxy" "$BODY"
    wait_for "$WORK/ws1" "$(b64 "ws-cross-$RUN")" && pass "end-to-end: published on proxy 2, delivered on proxy 1" ||
      fail "end-to-end delivery across proxies" "no frame within ${WAIT}s"
    ws_stop
    publish "$PROXY_URL" "$W" "$T" "ws-missed-$RUN" || fail "publish while the reader is away" "$BODY"
    if ws_listen "$(ws_url "$PROXY2_URL" "$R")" "$WORK/ws2"; then
      wait_for "$WORK/ws2" "$(b64 "ws-missed-$RUN")" && pass "replay after reconnecting to the other proxy" ||
        fail "replay after reconnecting to the other proxy" "the missed message did not arrive within ${WAIT}s"
      grep -q "$(b64 "ws-same-$RUN")" "$WORK/ws2" && fail "replay resumes from the cursor" "a message delivered before the reconnect came again" ||
        pass "replay resumes from the cursor (nothing delivered twice)"
      ws_stop
    else
      fail "WebSocket connect ($PROXY2_URL)" "$(cat "$WORK/ws2")"
    fi
  else
    fail "WebSocket connect ($PROXY_URL)" "$(cat "$WORK/ws1")"
  fi
else
  fail "subscribe for the WebSocket checks" "$BODY"
fi

echo "== thresholds"
T="suite-$RUN-threshold"
ALL="suite-$RUN-threshold-all"
ONE="suite-$RUN-threshold-one"
if subscribe "$PROXY_URL" "$ALL" "$T" 1.0 && subscribe "$PROXY_URL" "$ONE" "$T" 0; then
  ws_listen "$(ws_url "$PROXY_URL" "$ALL")" "$WORK/all"
  all_pid=$WS_PID
  ws_listen "$(ws_url "$PROXY2_URL" "$ONE")" "$WORK/one"
  one_pid=$WS_PID
  publish "$PROXY_URL" "$ONE" "$T" "threshold-$RUN" || fail "publish for the thresholds" "$BODY"
  if wait_for "$WORK/all" "$(b64 "threshold-$RUN")"; then
    held=$(grep "$(b64 "threshold-$RUN")" "$WORK/all" | grep -oE '"nodes":[0-9]+' | head -1 | grep -oE '[0-9]+$')
    [ "${held:-0}" -ge "$NODES" ] && pass "threshold 1.0: delivered once all $NODES nodes hold the message" ||
      fail "threshold 1.0" "delivered when ${held:-?} of $NODES nodes held it"
  else
    fail "threshold 1.0" "not delivered within ${WAIT}s"
  fi
  wait_for "$WORK/one" "$(b64 "threshold-$RUN")" && pass "threshold 0: delivered (at least one node)" || fail "threshold 0" "not delivered within ${WAIT}s"
  kill "$all_pid" "$one_pid" 2>/dev/null
else
  fail "subscribe for the threshold checks" "$BODY"
fi

echo "== gRPC ProxyStream"
T="suite-$RUN-grpc"
G="suite-$RUN-grpc-reader"
(cd "$ROOT" && exec node --import tsx proxy/cli/proxy-client.ts -subscribeOnly -topic="$T" -threshold=0.25 \
  -proxy="$PROXY_URL" -grpc="$PROXY_GRPC" -client-id="$G") > "$WORK/grpc" 2>&1 &
grpc_pid=$!
BACKGROUND+=("$grpc_pid")
if wait_for "$WORK/grpc" '^Subscribed to topic'; then
  pass "gRPC client subscribed"
  W="suite-$RUN-grpc-writer"
  subscribe "$PROXY2_URL" "$W" "$T" 0.25 && publish "$PROXY2_URL" "$W" "$T" "grpc-$RUN" || fail "publish for the gRPC stream" "$BODY"
  wait_for "$WORK/grpc" "Received message: \"grpc-$RUN\"" && pass "gRPC stream receive" ||
    fail "gRPC stream receive" "nothing within ${WAIT}s: $(tail -3 "$WORK/grpc")"
else
  fail "gRPC client subscribed" "$(tail -3 "$WORK/grpc")"
fi
kill "$grpc_pid" 2>/dev/null

echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
