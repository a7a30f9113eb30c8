#!/usr/bin/env bash
# Generate a node identity, like the published script/generate_p2p_key.sh:
# writes identity/p2p.key (go-libp2p layout) and prints the peer id and the
# BOOTSTRAP_PEER_ID line for .env. Flags pass through to node/cli/keygen.ts:
#   --dir <path>  directory for p2p.key (default ./identity, relative to the repository root)
#   --force       replace an existing p2p.key
# Works when started with `sh` too: it re-runs itself under bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# One node process with tsx's loader when the checkout has it, else npx tsx.
if [ -d node_modules/tsx ]; then
  exec node --import tsx node/cli/keygen.ts "$@"
else
  exec npx --yes tsx node/cli/keygen.ts "$@"
fi
