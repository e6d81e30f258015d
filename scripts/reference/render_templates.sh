#!/usr/bin/env bash
# Runs render_templates.py (Hugging Face transformers' Jinja setup) in a venv
# with a pinned jinja2 from PyPI, created once under ~/.cache/mote.
# Usage: scripts/reference/render_templates.sh CASES.json TEMPLATE_DIR OUT.json
set -euo pipefail
JINJA2_VERSION=3.1.6
venv="${MOTE_CACHE:-$HOME/.cache/mote}/venv-jinja2-$JINJA2_VERSION"
if ! "$venv/bin/python" -c "import jinja2, sys; sys.exit(jinja2.__version__ != '$JINJA2_VERSION')" 2>/dev/null; then
  echo "render_templates: creating $venv with jinja2==$JINJA2_VERSION" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "jinja2==$JINJA2_VERSION" >&2
fi
exec "$venv/bin/python" "$(dirname "$0")/render_templates.py" "$@"
