#!/bin/sh
# Install Graphviz's `dot` with the system package manager, or say what to do.
# SEMDAG_NO_SYSTEM_PACKAGES=1 skips every system package install.
set -e
if command -v dot >/dev/null 2>&1; then exit 0; fi
if [ -n "${SEMDAG_NO_SYSTEM_PACKAGES:-}" ]; then
  echo "==> Graphviz's dot is missing; SEMDAG_NO_SYSTEM_PACKAGES is set, so it is not installed" >&2
  echo "==> (DOT and HTML output work without it; SVG, PNG and PDF need it)." >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "Graphviz's dot is missing and this user cannot install packages." >&2
    echo "Install it (apt-get install graphviz, dnf install graphviz, brew install graphviz);" >&2
    echo "DOT and HTML output work without it." >&2
    exit 0
  fi
fi
echo "==> INSTALLING A SYSTEM PACKAGE: Graphviz (its dot program draws SVG, PNG and PDF)" >&2
echo "==> (to skip system packages: SEMDAG_NO_SYSTEM_PACKAGES=1 make ...)" >&2
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq graphviz >/dev/null
elif command -v dnf >/dev/null 2>&1; then
  $SUDO dnf install -y graphviz >/dev/null
elif command -v apk >/dev/null 2>&1; then
  $SUDO apk add --quiet graphviz
elif command -v brew >/dev/null 2>&1; then
  brew install graphviz
else
  echo "No known package manager: install Graphviz yourself for SVG/PNG/PDF output." >&2
fi
command -v dot >/dev/null 2>&1 && echo "==> installed $(dot -V 2>&1)" >&2
exit 0
