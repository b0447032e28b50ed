#!/usr/bin/env bash
# Builds the fidelity harness's reference: HAProxy 1.8.0 (../shared/peers/build-haproxy18.sh) with the
# one upstream fix hapoll keeps, 1.8.1's "BUG/MAJOR: connection: refine the situations where we don't
# send shutw()": conn_sock_shutw() gains a <clean> argument (the pass-through mux passes
# mode == CS_SHW_NORMAL) and sends shutdown(SHUT_WR) on a clean shutdown unless a read shutdown was
# already seen, instead of "unless linger_risk is set" (which every server connection has, so 1.8.0
# never forwarded a client's FIN to a server). Prints the binary's path; cached like the peer itself.
#   scripts/fidelity/build-reference.sh [cache dir]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
peer=$(bash "$here/../../../shared/peers/build-haproxy18.sh" "$@")
src=$(dirname "$peer")
dst="$src-shutwfix"
bin="$dst/haproxy"
if [ -x "$bin" ] && [ "$bin" -nt "$0" ]; then echo "$bin"; exit 0; fi
rm -rf "$dst"
cp -a "$src" "$dst"
h="$dst/include/proto/connection.h"
m="$dst/src/mux_pt.c"
# Our edit, described above: the signature, the condition, and the one caller.
sed -i 's/^static inline void conn_sock_shutw(struct connection \*c)$/static inline void conn_sock_shutw(struct connection *c, int clean)/' "$h"
sed -i 's/if (conn_ctrl_ready(c) \&\& !fdtab\[c->handle.fd\].linger_risk)$/if (conn_ctrl_ready(c) \&\& !(c->flags \& CO_FL_SOCK_RD_SH) \&\& clean)/' "$h"
sed -i 's/^\t\tconn_sock_shutw(cs->conn);$/\t\tconn_sock_shutw(cs->conn, mode == CS_SHW_NORMAL);/' "$m"
grep -q 'conn_sock_shutw(struct connection \*c, int clean)' "$h" &&
  grep -q 'CO_FL_SOCK_RD_SH) && clean)' "$h" &&
  grep -q 'conn_sock_shutw(cs->conn, mode == CS_SHW_NORMAL)' "$m" ||
  { echo "build-reference: the 1.8.1 shutw fix did not apply" >&2; exit 1; }
( cd "$dst" && make -j"$(nproc)" TARGET=linux2628 CFLAGS="-O2 -g -fcommon -Wno-error" ) > "$dst.build.log" 2>&1 ||
  { echo "build-reference: make failed, see $dst.build.log" >&2; exit 1; }
echo "$bin"
