#!/usr/bin/env bash
# Installs Debian's chromium for the live-view browser test when it is missing
# (the test skips with one line without it). Needs root and the Debian mirror.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-chromium: not root; the live-view browser test will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq chromium >/dev/null; then
  command -v chromium
else
  echo "install-chromium: apt-get could not install chromium; the live-view browser test will skip" >&2
fi
