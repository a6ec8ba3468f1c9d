#!/bin/sh
# Fetch Mermaid's browser bundle from the npm registry for the diagram tests (`make test`
# runs this): `npm pack` downloads the one package tarball, from which only
# dist/mermaid.min.js (self-contained) is kept, in .venv/mermaid/. Nothing is installed
# globally and no package scripts run.
set -e
VERSION="${MERMAID_VERSION:-11.12.2}"
DEST="${1:-.venv/mermaid}"
if [ -f "$DEST/mermaid-$VERSION.min.js" ]; then exit 0; fi
if ! command -v npm >/dev/null 2>&1; then
  echo "==> npm is missing: install Node.js (Debian: apt-get install npm) for the Mermaid tests" >&2
  exit 1
fi
mkdir -p "$DEST"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "==> fetching mermaid@$VERSION from the npm registry (npm pack) for the diagram tests" >&2
npm pack --silent --pack-destination "$TMP" "mermaid@$VERSION" >/dev/null
tar -xzf "$TMP"/mermaid-*.tgz -C "$TMP" package/dist/mermaid.min.js
mv "$TMP/package/dist/mermaid.min.js" "$DEST/mermaid-$VERSION.min.js"
