#!/usr/bin/env bash
# Build the web UI's front-end assets from the GOV.UK Frontend pinned in package-lock.json into
# webui/static/govuk/ (gitignored): the stylesheet is compiled from webui/scss/coproduce.scss with the
# pinned dart-sass (system fonts instead of GDS Transport, which is licensed for GOV.UK services only);
# the script and images are copied. Idempotent: a stamp holds the sha256 of the lock file and the
# Sass entry point, and nothing is downloaded or rebuilt while it matches.
#
#   scripts/build_assets.sh          build if needed
#   scripts/build_assets.sh --force  rebuild even when the stamp matches
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/webui/static/govuk"
STAMP="$DEST/.package-lock.sha256"
SRC="$ROOT/node_modules/govuk-frontend/dist/govuk"
# The files the web UI links to; if any is missing the copy is rebuilt.
REQUIRED=(govuk-frontend.min.css govuk-frontend.min.js assets/manifest.json assets/images/favicon.ico)
SCSS="$ROOT/webui/scss/coproduce.scss"

cd "$ROOT"
lock_sha="$(cat package-lock.json "$SCSS" | sha256sum | cut -d' ' -f1)"

up_to_date() {
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "$lock_sha" ]] || return 1
  for f in "${REQUIRED[@]}"; do [[ -f "$DEST/$f" ]] || return 1; done
}

if [[ "${1:-}" != "--force" ]] && up_to_date; then
  echo "build_assets: webui/static/govuk is up to date with package-lock.json"
  exit 0
fi

command -v npm >/dev/null || { echo "build_assets: npm is needed (Node 18 or later)" >&2; exit 1; }
# --ignore-scripts: no package may run code at install time; govuk-frontend ships compiled files.
npm ci --no-audit --no-fund --ignore-scripts

for f in govuk-frontend.min.js assets/manifest.json assets/images/favicon.ico; do
  [[ -f "$SRC/$f" ]] || { echo "build_assets: $SRC/$f is missing; has govuk-frontend's layout changed?" >&2; exit 1; }
done

# Copy into a fresh folder, then swap it in, so a failed copy never leaves half the assets.
tmp="$(mktemp -d "$ROOT/webui/static/.govuk.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
node_modules/.bin/sass --load-path=node_modules --style=compressed --no-source-map "$SCSS" "$tmp/govuk-frontend.min.css"
cp "$SRC"/govuk-frontend.min.js "$SRC"/govuk-frontend.min.js.map "$tmp"/
mkdir -p "$tmp/assets"
cp -R "$SRC"/assets/images "$SRC"/assets/manifest.json "$tmp"/assets/  # no fonts: see coproduce.scss
cp node_modules/govuk-frontend/package.json "$tmp"/package.json  # records the version actually copied
echo "$lock_sha" > "$tmp/.package-lock.sha256"
chmod -R a+rX "$tmp"
rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT
echo "build_assets: copied govuk-frontend $(node -p "require('$DEST/package.json').version") into webui/static/govuk"
