#!/usr/bin/env bash
# npm run test:sanitize [-- <vitest files or options>]
#
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into build-sanitize/ (a copy
# of binding.gyp and native/; build/ is never touched), then runs the native unit tests (which
# include the boundary fuzzer) and a couple of e2e suites with every node process loading the
# sanitized addon instead of build/Release/hapoll.node (scripts/sanitize-preload.js redirects the
# load; nothing is swapped on disk). Node itself is not built with ASan, so libasan is LD_PRELOADed.
# Fails if any test fails, if a sanitizer wrote a report, or if the sanitized addon was never loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/build-sanitize
CXX=${CXX:-g++}

LIBASAN=$($CXX -print-file-name=libasan.so)
if [ ! -e "$LIBASAN" ] || [ "$LIBASAN" = libasan.so ]; then
  echo "sanitize: libasan not found ($CXX -print-file-name=libasan.so gave '$LIBASAN')" >&2
  exit 1
fi

echo "sanitize: building the addon with -fsanitize=address,undefined into $OUT"
rm -rf "$OUT/src" "$OUT/logs"
mkdir -p "$OUT/src" "$OUT/logs"
cp binding.gyp "$OUT/src/"
cp -r native "$OUT/src/"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
# Same node headers as `npm install` (npm passes its nodedir setting to node-gyp; direct runs ask npm).
NODEDIR=${npm_config_nodedir:-$(npm config get nodedir 2>/dev/null || true)}
GYP_ARGS=(rebuild --loglevel=warn)
if [ -n "$NODEDIR" ] && [ "$NODEDIR" != undefined ] && [ "$NODEDIR" != null ]; then GYP_ARGS+=(--nodedir="$NODEDIR"); fi
# HAPOLL_LIBKQUEUE (set by scripts/kqueue.sh with HAPOLL_KQUEUE_SANITIZE=1): compile the kqueue
# backend against that libkqueue install too (binding.gyp's <libkqueue> variable).
GYP_VARS=()
if [ -n "${HAPOLL_LIBKQUEUE:-}" ]; then GYP_VARS=(-- -Dlibkqueue="$HAPOLL_LIBKQUEUE"); echo "sanitize: with kqueue over libkqueue ($HAPOLL_LIBKQUEUE)"; fi
# node-addon-api's include dir is found from build-sanitize/src by walking up to ./node_modules.
(cd "$OUT/src" && CFLAGS="$SAN" CXXFLAGS="$SAN" LDFLAGS="-fsanitize=address,undefined" \
  "$ROOT/node_modules/.bin/node-gyp" "${GYP_ARGS[@]}" "${GYP_VARS[@]}")
ADDON=$OUT/src/build/Release/hapoll.node
# grep -q would stop reading early and pipefail would then count ldd's SIGPIPE as a failure.
if ! ldd "$ADDON" | grep libasan >/dev/null; then
  echo "sanitize: $ADDON is not linked against libasan" >&2
  exit 1
fi
if [ -n "${HAPOLL_LIBKQUEUE:-}" ] && ! LD_PRELOAD="$LIBASAN" ASAN_OPTIONS=detect_leaks=0 node -e \
  'process.exit(require(process.argv[1]).pollerNames().includes("kqueue") ? 0 : 1)' "$ADDON"; then
  echo "sanitize: $ADDON has no kqueue backend" >&2
  exit 1
fi
# The redirect below replaces build/Release/hapoll.node; an HAPOLL_ADDON would bypass it.
unset HAPOLL_ADDON
# The TypeScript the e2e suites run (bin/hapoll -> dist/) must match src/.
"$ROOT/node_modules/.bin/tsc" -p "$ROOT/tsconfig.json"

if [ "$#" -eq 0 ]; then
  set -- test/unit/native.test.ts test/e2e/proxy.test.ts test/e2e/signals.test.ts
fi

LOG=$OUT/logs/loads.txt
: > "$LOG"
echo "sanitize: running vitest $* against $ADDON"
set +e
env \
  LD_PRELOAD="$LIBASAN" \
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$OUT/logs/asan:allow_user_segv_handler=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$OUT/logs/ubsan" \
  HAPOLL_SANITIZED_ADDON="$ADDON" \
  HAPOLL_SANITIZE_LOG="$LOG" \
  NODE_OPTIONS="${NODE_OPTIONS:-} --require $ROOT/scripts/sanitize-preload.js" \
  "$ROOT/node_modules/.bin/vitest" run "$@"
status=$?
set -e

loads=$(wc -l < "$LOG")
reports=$(find "$OUT/logs" -name 'asan.*' -o -name 'ubsan.*' | sort)
echo "sanitize: sanitized addon loaded by $loads process(es); vitest exit status $status"
if [ -n "$reports" ]; then
  echo "sanitize: sanitizer reports:" >&2
  for f in $reports; do echo "== $f" >&2; cat "$f" >&2; done
  exit 1
fi
if [ "$loads" -eq 0 ]; then
  echo "sanitize: the sanitized addon was never loaded: nothing was tested" >&2
  exit 1
fi
exit "$status"
