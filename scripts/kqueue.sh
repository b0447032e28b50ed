#!/usr/bin/env bash
# npm run test:kqueue [-- <vitest files or options>]
#
# Runs the poller conformance suite and the forwarding / half-close, timeout and fault e2e suites
# with kqueue as the poller (HAPOLL_TEST_POLLER=kqueue: the e2e helpers start every bin/hapoll with
# -de, and test/e2e/platform.test.ts checks that -vv then lists kqueue with pref=300 and uses it).
# - macOS / FreeBSD / OpenBSD: the normal build (build/Release) already has the real kqueue.
# - Linux: builds libkqueue 2.7.0 with ../shared/peers/build-libkqueue.sh (or takes the install
#   prefix in HAPOLL_LIBKQUEUE), then the addon with the kqueue backend compiled in next to epoll
#   (binding.gyp's <libkqueue> variable) into build-kqueue/ (a copy of binding.gyp and native/;
#   build/ is never touched), loaded through HAPOLL_ADDON. libkqueue's differences from a real
#   kqueue are listed in docs/platforms.md; the tests they touch skip under it with that reason.
# With HAPOLL_KQUEUE_SANITIZE=1 (Linux), the same suites run over an ASan/UBSan build of that addon
# through scripts/sanitize.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ "$#" -eq 0 ]; then
  set -- test/unit/poller.test.ts test/unit/native.test.ts test/e2e/platform.test.ts \
    test/e2e/proxy.test.ts test/e2e/timeouts.test.ts test/e2e/faults.test.ts
fi
export HAPOLL_TEST_POLLER=kqueue
VITEST_ARGS=(run --reporter=verbose)

case "$(uname -s)" in
  Darwin|FreeBSD|OpenBSD)
    echo "kqueue: native kqueue, normal build"
    "$ROOT/node_modules/.bin/tsc" -p "$ROOT/tsconfig.json"
    exec "$ROOT/node_modules/.bin/vitest" "${VITEST_ARGS[@]}" "$@"
    ;;
esac

PREFIX=${HAPOLL_LIBKQUEUE:-}
if [ -z "$PREFIX" ]; then
  script=$ROOT/../shared/peers/build-libkqueue.sh
  [ -x "$script" ] || { echo "kqueue: $script not found: set HAPOLL_LIBKQUEUE=<libkqueue install prefix>" >&2; exit 1; }
  PREFIX=$("$script")
fi
[ -f "$PREFIX/include/kqueue/sys/event.h" ] || { echo "kqueue: no include/kqueue/sys/event.h under $PREFIX" >&2; exit 1; }
export HAPOLL_LIBKQUEUE=$PREFIX
# Tests that hit a difference between libkqueue and a real kqueue skip with its reason.
export HAPOLL_TEST_LIBKQUEUE=1

if [ "${HAPOLL_KQUEUE_SANITIZE:-0}" = 1 ]; then
  exec bash "$ROOT/scripts/sanitize.sh" --reporter=verbose "$@"
fi

OUT=$ROOT/build-kqueue
echo "kqueue: building the addon against libkqueue ($PREFIX) into $OUT"
rm -rf "$OUT/src"
mkdir -p "$OUT/src"
cp binding.gyp "$OUT/src/"
cp -r native "$OUT/src/"
NODEDIR=${npm_config_nodedir:-$(npm config get nodedir 2>/dev/null || true)}
GYP_ARGS=(rebuild --loglevel=warn)
if [ -n "$NODEDIR" ] && [ "$NODEDIR" != undefined ] && [ "$NODEDIR" != null ]; then GYP_ARGS+=(--nodedir="$NODEDIR"); fi
(cd "$OUT/src" && "$ROOT/node_modules/.bin/node-gyp" "${GYP_ARGS[@]}" -- -Dlibkqueue="$PREFIX")
export HAPOLL_ADDON=$OUT/src/build/Release/hapoll.node
node -e 'const n = require(process.env.HAPOLL_ADDON); if (!n.pollerNames().includes("kqueue")) { console.error("kqueue: " + process.env.HAPOLL_ADDON + " has no kqueue backend"); process.exit(1); }'
"$ROOT/node_modules/.bin/tsc" -p "$ROOT/tsconfig.json"
echo "kqueue: running vitest $* with HAPOLL_TEST_POLLER=kqueue against $HAPOLL_ADDON"
exec "$ROOT/node_modules/.bin/vitest" "${VITEST_ARGS[@]}" "$@"
