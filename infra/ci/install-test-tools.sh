#!/usr/bin/env bash
# Installs the Debian packages some tests need when they are missing:
# chromium (the live-view browser test), iproute2 (ip and tc, for the
# bench:tbf network test) and libjemalloc2 (the allocator the stack runs
# on, as in the image). A test whose tool is missing skips with one line.
# Needs root and the Debian mirror.
set -euo pipefail
wanted=()
command -v chromium >/dev/null 2>&1 || wanted+=(chromium)
{ command -v ip >/dev/null 2>&1 && command -v tc >/dev/null 2>&1; } || wanted+=(iproute2)
# jemalloc: npm start runs nodes and proxies on it when installed, as the image does
[ -e /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ] || [ -e /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 ] || wanted+=(libjemalloc2)
[ ${#wanted[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-tools: not root, cannot install ${wanted[*]}; the tests that need them will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq "${wanted[@]}" >/dev/null; then
  echo "install-test-tools: installed ${wanted[*]}"
else
  echo "install-test-tools: apt-get could not install ${wanted[*]}; the tests that need them will skip" >&2
fi
