#!/usr/bin/env bash
# npm run test:valgrind [-- <rounds> <fuzz-calls>]
#
# valgrind memcheck over the poller workload (scripts/valgrind-pollers.js) and a short run of the
# native boundary fuzzer (test/fixtures/native-fuzz.js), both against the normal build
# (build/Release/hapoll.node). Node under memcheck is slow, so the runs are small. Node and V8 are
# not valgrind-clean themselves (JIT code, custom allocators), so the verdict only counts errors and
# definite leaks whose stack goes through hapoll.node; the totals are printed too.
# HAPOLL_FUZZ_UNDER_VALGRIND=1 keeps the fuzzer from calling bind/connect with a 1-byte address:
# memcheck's model of those syscalls computes salen - sizeof(sa_family) unsigned and then reports
# bytes far past the buffer (a false positive; the kernel reads exactly salen bytes).
# scripts/valgrind.supp holds the other memcheck false positive through hapoll.node: recvTrunc()'s
# recv(fd, NULL, INT_MAX, MSG_TRUNC) (HAProxy's conn_sock_drain(); the kernel copies nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-60}
CALLS=${2:-4000}
OUT=${VALGRIND_OUT:-$(mktemp -d /tmp/hapoll-valgrind-XXXXXX)}
mkdir -p "$OUT"
command -v valgrind >/dev/null || { echo "valgrind: not installed" >&2; exit 1; }

# Count valgrind records (errors, or definite leaks) whose stack goes through hapoll.node.
AWK_RECORDS='
  function flush() {
    if (blk ~ /hapoll\.node/ && blk !~ /^==[0-9]+== Warning:/) {
      leak = blk ~ /are definitely lost/
      if ((want == "leak" && leak) || (want == "error" && !leak)) n++
    }
    blk = ""
  }
  /^==[0-9]+== [^ ]/ { flush(); blk = $0; next }
  /^==[0-9]+== +[^ ]/ { blk = blk "\n" $0; next }
  { flush() }
  END { flush(); print n + 0 }'

run() {
  local name=$1
  shift
  echo "valgrind: $name"
  set +e
  HAPOLL_FUZZ_UNDER_VALGRIND=1 valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=none --suppressions=scripts/valgrind.supp --track-origins=no --num-callers=30 --trace-children=no \
    --log-file="$OUT/$name.log" node --expose-gc "$@" > "$OUT/$name.out" 2>&1
  local status=$?
  set -e
  local errors addon_errors addon_leaks
  if ! grep -q "ERROR SUMMARY" "$OUT/$name.log"; then
    echo "valgrind: $name: no ERROR SUMMARY in $OUT/$name.log: node did not run under memcheck" >&2
    return 1
  fi
  errors=$(grep -m1 "ERROR SUMMARY" "$OUT/$name.log" | sed 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/')
  # A record starts with an unindented "==pid== Text" line; its stack lines are indented.
  addon_errors=$(awk -v want=error "$AWK_RECORDS" "$OUT/$name.log")
  addon_leaks=$(awk -v want=leak "$AWK_RECORDS" "$OUT/$name.log")
  echo "valgrind: $name: exit $status; ERROR SUMMARY $errors error(s) in total; $addon_errors error(s) and $addon_leaks definite leak(s) through hapoll.node"
  grep -m1 "definitely lost:" "$OUT/$name.log" || true
  tail -n 1 "$OUT/$name.out"
  if [ "$addon_errors" != 0 ] || [ "$addon_leaks" != 0 ]; then
    echo "valgrind: $name: see $OUT/$name.log" >&2
    return 1
  fi
  if [ "$status" != 0 ] && [ "$status" != 99 ]; then
    echo "valgrind: $name: the workload itself failed (exit $status): $OUT/$name.out" >&2
    return 1
  fi
}

fail=0
run pollers scripts/valgrind-pollers.js "$ROUNDS" || fail=1
run fuzz test/fixtures/native-fuzz.js 7 "$CALLS" || fail=1
echo "valgrind: logs in $OUT"
exit $fail
