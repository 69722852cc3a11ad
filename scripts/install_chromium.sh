#!/usr/bin/env bash
# Install Debian's chromium for the report tests (tests/report/test_browser.py renders the page headless).
# Safe to run again: does nothing where chromium is already installed.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium >/dev/null
