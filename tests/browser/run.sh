#!/bin/sh
# The browser test as ctest runs it: installs playwright-core from the lock file into the build
# folder (never the source tree), then drives Chromium with ui_test.mjs. Exits 77 (skipped,
# saying why) when Chromium, node or npm is missing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${XRUN_BROWSER_DIR:?XRUN_BROWSER_DIR names the build folder of the browser test}
chromium=${XRUN_CHROMIUM:-/usr/bin/chromium}

skip() {
  echo "skipped: $1"
  exit 77
}
[ -x "$chromium" ] || skip "no Chromium at $chromium (apt-get install chromium)"
command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v npm >/dev/null 2>&1 || skip "npm is not installed"

mkdir -p "$out"
# npm ci only when the lock file changed since the last install.
if ! cmp -s "$here/package-lock.json" "$out/node_modules/.xrun-lock"; then
  cp "$here/package.json" "$here/package-lock.json" "$out/"
  (cd "$out" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  cp "$here/package-lock.json" "$out/node_modules/.xrun-lock"
fi
exec node "$here/ui_test.mjs"
