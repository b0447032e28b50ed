/**
 * The proxy half of --trace: listener state changes, stream-interface transitions with their
 * reason, and stream events (accept, establish, close), in HAProxy's vocabulary. The core half
 * (fd, update list, poll, cache, tasks) is src/core/trace.ts.
 */
import { trace, traceOn } from "../core/trace";
import { listenerHooks, LI_NAMES } from "../net/listener";
import { siHooks, SI_ST_NAMES } from "../proxy/stream_interface";
import { streamHooks, type Stream } from "../proxy/stream";
import { addrString } from "../proxy/log";
import { enableRuleTrace } from "./trace_rule";

/** The HAProxy function behind each listener transition. */
function listenerWhy(from: number, to: number): string {
  const n = (s: number) => LI_NAMES[s];
  const key = `${n(from)}>${n(to)}`;
  const why: Record<string, string> = {
    "NEW>INIT": "create_listeners",
    "INIT>ASSIGNED": "tcpv4_add_listener",
    "ASSIGNED>LISTEN": "tcp_bind_listener",
    "LISTEN>READY": "enable_listener",
    "LISTEN>FULL": "enable_listener",
    "READY>FULL": "listener_full",
    "READY>LIMITED": "limit_listener",
    "FULL>READY": "resume_listener",
    "LIMITED>READY": "resume_listener",
    "PAUSED>READY": "resume_listener",
    "READY>PAUSED": "pause_listener",
    "ASSIGNED>INIT": "delete_listener",
  };
  return why[key] ?? (to === 2 ? "unbind_listener" : "");
}

/** Wire listener / si / stream / rule tracing according to what traceOn() says. */
export function enableProxyTrace(): void {
  enableRuleTrace();
  listenerHooks.onState = traceOn("listener")
    ? (l, from, to) => trace("listener", `${l.proxy.id} ${l.label} ${LI_NAMES[from]} -> ${LI_NAMES[to]} (${listenerWhy(from, to)})`)
    : null;
  siHooks.onState = traceOn("si")
    ? (si, from, to, why) => {
      const s = si.task.context as Stream;
      const id = (s.uniqId >>> 0).toString(16).padStart(8, "0");
      trace("si", `${id} ${si.side === 0 ? "si_f" : "si_b"} ${SI_ST_NAMES[from]} -> ${SI_ST_NAMES[to]} (${why})`);
    }
    : null;
  if (traceOn("stream")) {
    const prev = streamHooks.onEvent;
    streamHooks.onEvent = (s, ev) => {
      if (prev) prev(s, ev);
      const id = (s.uniqId >>> 0).toString(16).padStart(8, "0");
      if (ev === "accept") {
        const [ci, cp] = addrString(s.cliAddr, s.cliAddrLen);
        trace("stream", `${id} session_accept_fd -> stream_new: ${s.fe.id} fd=${s.si[0].conn.fd} from ${ci}:${cp}, task_wakeup(INIT)`);
      } else if (ev === "established") {
        trace("stream", `${id} sess_establish: ${s.be.id}/${s.target ? s.target.id : "-"} fd=${s.si[1].conn.fd} connected in ${s.tConnect} ms`);
      } else if (ev === "closed") {
        trace("stream", `${id} stream_free: ${s.req.total} bytes in, ${s.res.total} bytes out`);
      } else {
        trace("stream", `${id} ${ev}`);
      }
    };
  }
}
