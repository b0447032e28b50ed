#!/usr/bin/env bash
# Checks native/ against .clang-format without changing anything (`npm run lint:native`).
#
# Deferred (issue 11): the files in DEFERRED differ from .clang-format in a few hand-aligned places
# (poller.h: the FD_POLL_* block and a trailing comment; sock.cc: the two-column export table and a
# one-line enum; ev_kqueue.cc: a doubled blank line). native/ is being changed on another branch, so
# they are not reformatted now: once that work has landed, run `clang-format -i native/*` (or add
# `// clang-format off` around the tables), empty DEFERRED and the whole folder is checked.
set -euo pipefail
cd "$(dirname "$0")/.."
DEFERRED=" native/poller.h native/sock.cc native/ev_kqueue.cc "
if ! command -v clang-format >/dev/null 2>&1; then
  if [ -n "${CI:-}" ]; then
    echo "clang-format-check: clang-format is not installed (apt-get install clang-format)" >&2
    exit 1
  fi
  echo "clang-format-check: skipped: clang-format is not installed (apt-get install clang-format)" >&2
  exit 0
fi
files=()
for f in native/*.cc native/*.h; do
  case "$DEFERRED" in *" $f "*) continue ;; esac
  files+=("$f")
done
clang-format --dry-run --Werror "${files[@]}"
echo "clang-format-check: ${#files[@]} files match .clang-format (deferred:${DEFERRED% })"
