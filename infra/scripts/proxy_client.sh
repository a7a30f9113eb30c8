#!/usr/bin/env bash
# Subscribe through a proxy (and publish), like the published script/proxy_client.sh.
# Runs the TypeScript proxy client (proxy/cli/proxy-client.ts) from the repository root.
# PROXY_URL (default http://localhost:8081) and PROXY_GRPC (default localhost:50051) choose the proxy.
# Works when started with `sh` too: it re-runs itself under bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

usage() {
  echo "Usage: $0 (subscribe <topic> <threshold>)|(publish <topic> <threshold> <count>) [options]" >&2
  echo "" >&2
  echo "Options (passed to proxy-client):" >&2
  echo "  -delay=<duration>               delay between publishes (default: 2s)" >&2
  echo "  -keepalive-interval=<duration>  gRPC keepalive ping interval (default: 2m0s)" >&2
  echo "  -keepalive-timeout=<duration>   gRPC keepalive ping timeout (default: 20s)" >&2
  echo "" >&2
  echo "Examples:" >&2
  echo "  $0 subscribe mytopic 0.7" >&2
  echo "  $0 publish mytopic 0.6 10" >&2
  echo "  PROXY_URL=http://localhost:8082 PROXY_GRPC=localhost:50052 $0 subscribe mytopic 0.7" >&2
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# One node process with tsx's loader when the checkout has it (Ctrl-C reaches the client itself), else npx tsx.
if [ -d node_modules/tsx ]; then
  CLIENT=(node --import tsx proxy/cli/proxy-client.ts)
else
  CLIENT=(npx --yes tsx proxy/cli/proxy-client.ts)
fi
ADDRS=(-proxy="${PROXY_URL:-http://localhost:8081}" -grpc="${PROXY_GRPC:-localhost:50051}")

case "${1:-}" in
  subscribe)
    if [ -z "${2:-}" ] || [ -z "${3:-}" ]; then
      echo "Usage: $0 subscribe <topic> <threshold> [options]" >&2
      exit 1
    fi
    TOPIC="$2"
    THRESHOLD="$3"
    shift 3
    exec "${CLIENT[@]}" -subscribeOnly -topic="$TOPIC" -threshold="$THRESHOLD" "${ADDRS[@]}" "$@"
    ;;
  publish)
    if [ -z "${2:-}" ] || [ -z "${3:-}" ] || [ -z "${4:-}" ]; then
      echo "Usage: $0 publish <topic> <threshold> <count> [options]" >&2
      exit 1
    fi
    TOPIC="$2"
    THRESHOLD="$3"
    COUNT="$4"
    shift 4
    exec "${CLIENT[@]}" -topic="$TOPIC" -threshold="$THRESHOLD" -count="$COUNT" "${ADDRS[@]}" "$@"
    ;;
  *)
    usage
    exit 1
    ;;
esac
