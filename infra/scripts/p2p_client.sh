#!/usr/bin/env bash
# Subscribe to or publish on a P2P node's sidecar, like the published script/p2p_client.sh.
# Runs the TypeScript p2p client (node/cli/p2p-client.ts) from the repository root.
# Works when started with `sh` too: it re-runs itself under bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

usage() {
  echo "Usage: $0 <addr> (subscribe <topic> [keepalive-options])|(publish <topic> <message> [keepalive-options])" >&2
  echo "" >&2
  echo "Keepalive options:" >&2
  echo "  -keepalive-interval=<duration> gRPC keepalive ping interval (default: 2m0s)" >&2
  echo "  -keepalive-timeout=<duration>  gRPC keepalive ping timeout (default: 20s)" >&2
  echo "" >&2
  echo "Publish options:" >&2
  echo "  -count=<n>                     number of messages to publish (default: 1)" >&2
  echo "  -sleep=<duration>              delay between publishes, e.g. 100ms (default: 0s)" >&2
  echo "" >&2
  echo "Examples:" >&2
  echo "  $0 127.0.0.1:33221 subscribe test" >&2
  echo "  $0 127.0.0.1:33221 subscribe test -keepalive-interval=5m" >&2
  echo "  $0 127.0.0.1:33221 publish test \"Hello World\" -keepalive-timeout=10s" >&2
  echo "  $0 127.0.0.1:33221 publish test random -count=10000 -sleep=100ms" >&2
}

if [ -z "${1:-}" ]; then
  usage
  exit 1
fi

ADDR="$1"
shift

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# One node process with tsx's loader when the checkout has it (a wrapper process, npm exec or the tsx
# CLI, can turn a Ctrl-C into exit status 130), else npx tsx.
if [ -d node_modules/tsx ]; then
  CLIENT=(node --import tsx node/cli/p2p-client.ts)
else
  CLIENT=(npx --yes tsx node/cli/p2p-client.ts)
fi

case "${1:-}" in
  subscribe)
    if [ -z "${2:-}" ]; then
      echo "Usage: $0 <addr> subscribe <topic> [keepalive-options]" >&2
      exit 1
    fi
    TOPIC="$2"
    shift 2
    exec "${CLIENT[@]}" -mode=subscribe -topic="$TOPIC" --addr="$ADDR" "$@"
    ;;
  publish)
    if [ -z "${2:-}" ] || [ -z "${3:-}" ]; then
      echo "Usage: $0 <addr> publish <topic> <message> [keepalive-options]" >&2
      exit 1
    fi
    TOPIC="$2"
    MESSAGE="$3"
    shift 3
    exec "${CLIENT[@]}" -mode=publish -topic="$TOPIC" -msg="$MESSAGE" --addr="$ADDR" "$@"
    ;;
  *)
    usage
    exit 1
    ;;
esac
