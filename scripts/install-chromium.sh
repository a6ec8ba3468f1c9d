#!/bin/sh
# Install Debian's `chromium` package for the HTML viewer test (`make test` runs this when
# chromium is missing). SEMDAG_NO_SYSTEM_PACKAGES=1 skips every system package install.
set -e
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ -n "${SEMDAG_NO_SYSTEM_PACKAGES:-}" ]; then
  echo "==> chromium is missing; SEMDAG_NO_SYSTEM_PACKAGES is set, so it is not installed:" >&2
  echo "==> the HTML viewer test will fail until chromium is on PATH." >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "==> chromium is missing and this is not a Debian-based system: install Chromium" >&2
  echo "==> yourself to run the HTML viewer test." >&2
  exit 0
fi
echo "==> INSTALLING A SYSTEM PACKAGE: Debian's chromium (about 100 MB), for the HTML viewer test" >&2
echo "==> running: ${SUDO:+$SUDO }apt-get install -y chromium" >&2
echo "==> (to skip system packages: SEMDAG_NO_SYSTEM_PACKAGES=1 make test)" >&2
$SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq chromium >/dev/null || true
if command -v chromium >/dev/null 2>&1; then
  echo "==> installed $(chromium --version 2>/dev/null || echo chromium)" >&2
else
  echo "==> chromium could not be installed: the HTML viewer test will fail" >&2
fi
exit 0
