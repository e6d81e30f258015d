#!/usr/bin/env bash
# Renders the demo energy report and checks it in a real browser: headless
# Chromium must see the inline SVG charts in its DOM, and its screenshot must
# be a real page (not blank). Usage: render_in_chromium.sh [OUT_DIR]
# Leaves report.html, report.png and report.dom.html in OUT_DIR for a look.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
out_dir="${1:-$(mktemp -d)}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"
html="$out_dir/report.html"
png="$out_dir/report.png"
dom="$out_dir/report.dom.html"

if ! command -v chromium >/dev/null 2>&1; then
    echo "chromium missing: installing it from Debian" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

(cd "$repo" && cargo run -q -p mote-telemetry --example render_report -- "$html")

profiles=()
cleanup() { rm -rf "${profiles[@]}"; }
trap cleanup EXIT

# Each browser run gets a fresh profile so no state or network setting leaks in.
browse() {
    local profile
    profile="$(mktemp -d)"
    profiles+=("$profile")
    timeout 180 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$profile" "$@" 2>/dev/null
}

browse --window-size=1280,2000 --screenshot="$png" "file://$html" >/dev/null
browse --dump-dom "file://$html" >"$dom"

fail=0
passed=0
check() { # description, command...
    local what="$1"
    shift
    if "$@"; then echo "ok: $what"; passed=$((passed + 1)); else echo "FAIL: $what" >&2; fail=$((fail + 1)); fi
}
count() { grep -o "$1" "$dom" | wc -l; }

runs="$(count '<tr class="run')"
check "table has runs (found $runs)" test "$runs" -ge 1
check "one power chart per run" test "$(count 'id="power-[0-9]*"')" -eq "$runs"
check "speed vs energy chart" grep -q 'id="speed-energy"' "$dom"
check "bits-per-weight chart" grep -q 'id="bits-per-weight"' "$dom"
check "all charts are svg ($(count '<svg'))" test "$(count '<svg')" -eq $((runs + 2))
check "power lines drawn" test "$(count '<polyline class="power-line"')" -eq "$runs"
check "prefill and decode phases shaded" test "$(count 'class="phase-prefill"')" -eq "$runs"
check "scatter has a point per run" test "$(count 'class="run-point"')" -eq "$runs"
check "honesty badges shown" grep -q 'ESTIMATE' "$dom"
check "no scripts in the page" test "$(count '<script')" -eq 0

# Decode the PNG and measure how much is drawn (scripts/lib/png_check.py).
check "screenshot is a real page" python3 "$repo/scripts/lib/png_check.py" "$png"

echo "report rendered in chromium: $png"
echo "checks: $passed passed, $fail failed"
if [ "$fail" -ne 0 ]; then
    echo "report render check failed (see $out_dir)" >&2
    exit 1
fi
