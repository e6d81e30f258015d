#!/usr/bin/env bash
# Runs the Kotlin SDK tests on the host JVM: the generated bindings and the
# dev.mote wrapper (android/mote/src/main/kotlin) against the host-built
# libmote_ffi through JNA, with the real SmolLM2 model. The *RobolectricTest
# classes (MoteLifecycle, BatterySampler) then run under Robolectric (SDK 34) in
# a JVM of their own; the first run downloads android-all jars (~290 MB) from
# Maven Central. -Dmote.robolectric.skip=true runs only the plain JVM tests.
#
# Usage: scripts/test-kotlin.sh [extra mvn args, e.g. -Dtest=StreamingTest]
# Env: MOTE_PROFILE (debug|release), MOTE_BINDINGS_DIR, MOTE_SKIP_BUILD, MOTE_FFI_LIB_DIR,
#      MOTE_TEST_MODEL (skip the fetch).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bindings="${MOTE_BINDINGS_DIR:-$repo/bindings-out}"
log() { echo "test-kotlin: $*" >&2; }

model="${MOTE_TEST_MODEL:-$("$repo/scripts/fetch-models.sh" smollm2 | awk '$1 == "smollm2" { print $2 }')}"
[ -f "$model" ] || { log "model not found: $model"; exit 1; }

gen="$("$repo/scripts/gen-bindings.sh" "$bindings")"
lib_dir="$(echo "$gen" | awk '$1 == "lib" { print $2 }')"

log "mvn test (lib $lib_dir, model $model)"
mvn -B -f "$repo/android/jvm-tests/pom.xml" \
  -Dmote.bindings.dir="$bindings/kotlin" \
  -Dmote.lib.dir="$lib_dir" \
  -Dmote.model.path="$model" \
  test "$@"
