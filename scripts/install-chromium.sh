#!/bin/sh
# Install a headless Chromium (Debian's package) for the HTML viewer test.
set -e
if command -v chromium >/dev/null 2>&1; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq chromium >/dev/null
else
  echo "Install Chromium yourself to run the HTML viewer test." >&2
fi
exit 0
