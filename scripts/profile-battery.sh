#!/usr/bin/env bash
# Measures Mote's battery drain on a connected Android phone and renders the
# energy report (docs/telemetry.md explains the numbers).
#
# Usage: scripts/profile-battery.sh [options] [-- extra `am start` args]
#   -s SERIAL        device to use (needed when several are connected)
#   -o DIR           where runs.json and report.html go (default: ./battery-profile-<time>)
#   -t SECONDS       how long to wait for the benchmark (default: 1800)
#   -a COMPONENT     activity to start (default: dev.mote.sample/.MainActivity)
#   -m PATH          the `mote` CLI (default: `mote` on PATH, else `cargo run -p mote-cli`)
#   --fake-unplug    keep the USB cable and use `dumpsys battery unplug` (see below)
#   --study TYPES --source MODEL.gguf
#                    the quantization study on the phone: for each comma-separated
#                    `mote quantize` type, quantize MODEL on the host (byte-identical to
#                    what the phone would write), push it, run the bench mode on it
#                    (`--es model PATH`), score quality on the host (`mote eval`), then
#                    render OUT/study.html with `mote study --from-device` (docs/quantization.md)
#
# Contract with the sample app (assumed; the app is built elsewhere):
#   * package dev.mote.sample, a debuggable build (so `run-as` works);
#   * started with `--es mode bench`, it runs its benchmark and writes the
#     ReportData JSON (`mote_telemetry::ReportData`) to files/mote-energy.json,
#     atomically (write a temp file, then rename), when it is done;
#   * `--ez mote_fake_unplug true` tells it the USB cable is still in, so it
#     must mark every run invalid (flag `usb_connected`).
#
# Why the cable matters: while USB is connected the phone draws from it, so
# the battery's current no longer shows what the model costs. The honest way is
# wireless debugging and no cable. `dumpsys battery unplug` only makes Android
# *report* "unplugged"; most phones keep charging, which is why --fake-unplug
# runs are marked invalid and are only useful to smoke-test this pipeline.
set -euo pipefail

PKG=dev.mote.sample
REMOTE_FILE=files/mote-energy.json
activity="$PKG/.MainActivity"
serial=""
out_dir=""
timeout_s=1800
mote_bin=""
fake_unplug=0
study_types=""
study_source=""
extra=()

log() { echo "profile-battery: $*" >&2; }
die() { log "error: $*"; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        -s) serial="${2:?-s needs a serial}"; shift 2 ;;
        -o) out_dir="${2:?-o needs a directory}"; shift 2 ;;
        -t) timeout_s="${2:?-t needs seconds}"; shift 2 ;;
        -a) activity="${2:?-a needs a component}"; shift 2 ;;
        -m) mote_bin="${2:?-m needs a path}"; shift 2 ;;
        --fake-unplug) fake_unplug=1; shift ;;
        --study) study_types="${2:?--study needs types}"; shift 2 ;;
        --source) study_source="${2:?--source needs a model}"; shift 2 ;;
        -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
case "$timeout_s" in ''|*[!0-9]*) die "-t wants whole seconds, got '$timeout_s'" ;; esac

command -v adb >/dev/null 2>&1 || die "adb not found: install Android platform-tools"

# --- which device -----------------------------------------------------------
mapfile -t devices < <(adb devices | awk 'NR > 1 && $2 == "device" { print $1 }')
if [ -n "$serial" ]; then
    printf '%s\n' "${devices[@]}" | grep -qx -- "$serial" || die "device $serial is not connected (or not authorized)"
elif [ "${#devices[@]}" -eq 1 ]; then
    serial="${devices[0]}"
elif [ "${#devices[@]}" -eq 0 ]; then
    die "no device: connect one (USB or wireless debugging) and accept the RSA prompt"
else
    die "several devices connected (${devices[*]}): pick one with -s"
fi
export ANDROID_SERIAL="$serial"
log "device $serial ($(adb shell getprop ro.product.model | tr -d '\r'))"

adb shell pm path "$PKG" >/dev/null 2>&1 || die "$PKG is not installed on $serial"
adb shell run-as "$PKG" true >/dev/null 2>&1 || die "run-as $PKG failed: install a debuggable build"

# --- power source -----------------------------------------------------------
powered() { # prints the connected power sources, e.g. "USB"; empty when on battery
    adb shell dumpsys battery | tr -d '\r' | awk -F': ' '/(AC|USB|Wireless|Dock) powered: true/ { sub(/^ +/, "", $1); sub(/ powered/, "", $1); print $1 }' | paste -sd, -
}

reset_battery() {
    if adb shell dumpsys battery reset >/dev/null 2>&1; then
        log "battery state reset (dumpsys battery reset)"
    else
        log "warning: could not run 'adb shell dumpsys battery reset'; run it yourself"
    fi
}

am_extra=(--es mode bench)
if [ "$fake_unplug" -eq 1 ]; then
    trap reset_battery EXIT
    trap 'exit 130' INT TERM
    adb shell dumpsys battery unplug
    am_extra+=(--ez mote_fake_unplug true)
    log "WARNING: --fake-unplug: the phone still draws from USB; these runs will be marked invalid."
else
    src="$(powered)"
    if [ -n "$src" ]; then
        log "the phone is on external power ($src): its readings would be meaningless."
        log "switch to wireless debugging, then pull the cable:"
        log "    adb -s $serial tcpip 5555 && adb connect <phone-ip>:5555"
        log "    (or Android 11+: Developer options > Wireless debugging > Pair)"
        log "then re-run with -s <phone-ip>:5555 once the cable is out."
        log "waiting up to 120 s for the cable to be pulled on this connection..."
        for _ in $(seq 1 60); do
            sleep 2
            src="$(powered 2>/dev/null || echo "gone")"
            [ -z "$src" ] && break
            [ "$src" = "gone" ] && die "lost the device: it was connected over USB only; use wireless debugging"
        done
        [ -z "$src" ] || die "still on external power ($src)"
    fi
    log "on battery: good"
fi

# --- run the benchmark ------------------------------------------------------
out_dir="${out_dir:-battery-profile-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out_dir"
runs="$out_dir/runs.json"

valid_json() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null
    else
        # The app renames the file into place only when complete, so non-empty is enough.
        [ -s "$1" ]
    fi
}

# One bench run of the app; $1: where its runs.json goes, then extra `am start` args.
bench_once() {
    local runs="$1"; shift
    local partial="$runs.partial"
    adb shell dumpsys battery | tr -d '\r' >"$runs.battery-before.txt"
    adb shell run-as "$PKG" rm -f "$REMOTE_FILE"
    log "starting $activity ${am_extra[*]} ${extra[*]:-}"
    started="$(adb shell am start -W -n "$activity" "${am_extra[@]}" "${extra[@]}" "$@" 2>&1 | tr -d '\r')"
    if printf '%s\n' "$started" | grep -q '^Error'; then
        die "could not start $activity: $started"
    fi

    log "waiting for $REMOTE_FILE (up to ${timeout_s}s; keep the phone still, screen as the app sets it)"
    start=$SECONDS
    while :; do
        if adb exec-out run-as "$PKG" cat "$REMOTE_FILE" >"$partial" 2>/dev/null && [ -s "$partial" ] && valid_json "$partial"; then
            mv "$partial" "$runs"
            break
        fi
        if [ $((SECONDS - start)) -ge "$timeout_s" ]; then
            die "no $REMOTE_FILE after ${timeout_s}s (see: adb logcat -s Mote)"
        fi
        if ! adb shell pidof "$PKG" >/dev/null 2>&1; then
            die "$PKG exited without writing $REMOTE_FILE (see: adb logcat -s Mote AndroidRuntime)"
        fi
        sleep 5
    done
    rm -f "$partial"
    adb shell dumpsys battery | tr -d '\r' >"$runs.battery-after.txt"
    log "pulled $runs ($(wc -c <"$runs") bytes)"
}

run_mote() {
    if [ -n "$mote_bin" ]; then
        "$mote_bin" "$@"
    elif command -v mote >/dev/null 2>&1; then
        mote "$@"
    else
        local repo
        repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
        (cd "$repo" && cargo run -q --release -p mote-cli -- "$@")
    fi
}

if [ -n "$study_types" ]; then
    [ -f "$study_source" ] || die "--study needs --source MODEL.gguf (a file on this host)"
    study_dir="$(realpath "$out_dir")"
    remote_dir="/sdcard/Android/data/$PKG/files/study"
    adb shell mkdir -p "$remote_dir"
    printf '{"model": "%s"}\n' "$(basename "$study_source")" >"$study_dir/source.json"
    printf '{"device": "%s", "android": "%s"}\n' "$(adb shell getprop ro.product.model | tr -d '\r')" \
        "$(adb shell getprop ro.build.version.release | tr -d '\r')" >"$study_dir/device.json"
    IFS=',' read -r -a types <<<"$study_types"
    for t in "${types[@]}"; do
        vdir="$study_dir/$t"; mkdir -p "$vdir"
        file="$vdir/model.$t.gguf"
        log "study $t: quantize on the host"
        run_mote quantize --model "$(realpath "$study_source")" --type "$t" --out "$file" --json >"$vdir/quantize.json"
        adb push "$file" "$remote_dir/model.$t.gguf" >/dev/null
        log "study $t: bench on the phone"
        bench_once "$vdir/runs.json" --es model "$remote_dir/model.$t.gguf"
        adb shell rm -f "$remote_dir/model.$t.gguf"
        log "study $t: quality on the host"
        run_mote eval --model "$file" --json >"$vdir/eval.json"
        rm -f "$file"
    done
    run_mote study --from-device "$study_dir" --out "$study_dir" >/dev/null
    log "study: $study_dir/study.html"
    exit 0
fi

bench_once "$runs"

# --- render -----------------------------------------------------------------
report="$out_dir/report.html"
run_mote report --input "$(realpath "$runs")" --out "$(realpath "$out_dir")/report.html"
log "report: $report"
