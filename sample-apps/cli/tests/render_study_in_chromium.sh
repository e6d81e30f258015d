#!/usr/bin/env bash
# Renders a `mote study` page in headless Chromium and checks what it shows:
# the table's rows, four SVG charts with one point per variant, no scripts,
# and a screenshot that is a real page (scripts/lib/png_check.py).
# Usage: render_study_in_chromium.sh [STUDY_HTML] [OUT_DIR]
#   Without STUDY_HTML it renders a fixture (`mote study --from-device` on a
#   made-up phone run: no model needed), which is what CI does.
# Leaves study.png and study.dom.html in OUT_DIR.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
out_dir="${2:-$(mktemp -d)}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"
command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

html="${1:-}"
variants=0
if [ -z "$html" ]; then
    fixture="$out_dir/device-run"
    for row in "Q8_0 8.5 20 30" "Q6_K 6.6 22 29" "Q4_K_M 4.9 27 27" "Q2_K 2.9 31 9"; do
        set -- $row
        mkdir -p "$fixture/$1"
        echo "{\"bits_per_weight\": $2, \"bytes_out\": 100000000, \"requantized\": 0}" >"$fixture/$1/quantize.json"
        run="{\"prefill_tokens_per_s\": 300, \"decode_tokens_per_s\": $(( 40 + ${3%.*} )), \"energy\": {\"valid\": true, \"tokens_per_joule\": $3, \"joules_per_token\": 0.04, \"uncertainty_pct\": 8, \"source\": \"android-batterymanager\"}}"
        echo "{\"runs\": [$run, $run]}" >"$fixture/$1/runs.json"
        echo "{\"ppl\": $(( 40 - ${4%.*} )), \"qa_exact_match\": 1, \"qa_f1\": $4, \"items\": 171}" >"$fixture/$1/eval.json"
        variants=$((variants + 1))
    done
    # The binary `cargo test --workspace` built (scripts/test.sh's first step), else a release build.
    mote="${MOTE_BIN:-}"
    for m in "$repo/target/debug/mote" "$repo/target/release/mote"; do [ -n "$mote" ] || { [ -x "$m" ] && mote="$m"; }; done
    [ -n "$mote" ] || { (cd "$repo" && cargo build -q --release -p mote-cli) && mote="$repo/target/release/mote"; }
    "$mote" study --from-device "$fixture" --out "$out_dir" >/dev/null
    html="$out_dir/study.html"
else
    variants="$(grep -o '<tr><td>' "$html" | wc -l)"
fi
png="$out_dir/study.png"
dom="$out_dir/study.dom.html"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
browse() {
    timeout 180 chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile" "$@" 2>/dev/null
}
browse --window-size=1400,1400 --screenshot="$png" "file://$(realpath "$html")" >/dev/null
browse --dump-dom "file://$(realpath "$html")" >"$dom"

passed=0; fail=0
check() { local what="$1"; shift; if "$@"; then echo "ok: $what"; passed=$((passed + 1)); else echo "FAIL: $what" >&2; fail=$((fail + 1)); fi; }
count() { grep -o "$1" "$dom" | wc -l; }
check "a table row per variant ($variants)" test "$(count '<tr><td>')" -eq "$variants"
check "four charts" test "$(count '<svg')" -eq 4
check "a point per variant in each chart with data" test "$(count '<circle')" -ge $((variants * 3))
check "axes say bits per weight" test "$(count 'bits per weight</text>')" -eq 4
check "no scripts in the page" test "$(count '<script')" -eq 0
check "screenshot is a real page" python3 "$repo/scripts/lib/png_check.py" "$png" 0.02
echo "study rendered in chromium: $png"
echo "checks: $passed passed, $fail failed"
[ "$fail" -eq 0 ]
