/**
 * Run-time administrative changes of a server: maintenance, drain and weight, as the stats socket
 * requests them (`disable/enable server`, `set server ... state|weight`, `set weight`, `shutdown
 * sessions server`). HAProxy 1.8: srv_set_admin_flag(), srv_clr_admin_flag(),
 * server_parse_weight_change_request(), srv_shutdown_streams() (src/server.c) and
 * srv_adm_set_maint() / srv_adm_set_drain() / srv_adm_set_ready() (include/proto/server.h).
 *
 * These only write the server's next state (next_admin, uweight -> next_eweight); srvUpdateStatus()
 * in server.ts applies it: the load balancer, the queues (a server entering MAINT or DRAIN gives its
 * queue back to load balancing under `option redispatch`; one coming back takes streams from the
 * backend's queue), the health check (paused in MAINT), and 1.8's log lines. HAProxy applies the
 * change at the next sync point of the loop; hapoll at once, one flag at a time, as HAProxy 1.9
 * does again (so `set server ... state drain` from MAINT logs the leaving-maintenance line with
 * "UP/DRAIN", exactly as 1.8 does).
 */
import { type Proxy } from "./proxy";
import { type Server, serverRecalcEweight, srvUpdateStatus, SRV_ADMF_FDRAIN, SRV_ADMF_FMAINT } from "./server";
import { streams, streamShutdown } from "./stream";

/**
 * HAProxy: srv_set_admin_flag(). Set admin flag <mode> (one SRV_ADMF_* flag) on <s> and apply the
 * change. Nothing happens when the flag is already set. The propagation to tracking servers
 * (IMAINT/IDRAIN) has no object in hapoll, which has no `track`.
 */
export function srvSetAdminFlag(s: Server, mode: number): void {
  if (!mode) return;
  if (s.nextAdmin & mode) return;
  s.nextAdmin |= mode;
  srvUpdateStatus(s);
}

/** HAProxy: srv_clr_admin_flag(). Clear admin flag <mode> of <s> and apply the change. */
export function srvClrAdminFlag(s: Server, mode: number): void {
  if (!mode) return;
  if (!(s.nextAdmin & mode)) return;
  s.nextAdmin &= ~mode;
  srvUpdateStatus(s);
}

/** HAProxy: srv_adm_set_maint(): forced maintenance (`disable server`, `set server ... state maint`). */
export function srvAdmSetMaint(s: Server): void {
  srvSetAdminFlag(s, SRV_ADMF_FMAINT);
  srvClrAdminFlag(s, SRV_ADMF_FDRAIN);
}

/** HAProxy: srv_adm_set_drain(): forced drain (`set server ... state drain`). */
export function srvAdmSetDrain(s: Server): void {
  srvSetAdminFlag(s, SRV_ADMF_FDRAIN);
  srvClrAdminFlag(s, SRV_ADMF_FMAINT);
}

/** HAProxy: srv_adm_set_ready(): out of forced drain and forced maintenance (`enable server`). */
export function srvAdmSetReady(s: Server): void {
  srvClrAdminFlag(s, SRV_ADMF_FDRAIN);
  srvClrAdminFlag(s, SRV_ADMF_FMAINT);
}

/**
 * HAProxy: BE_LB_PROP_DYN: whether the backend's algorithm takes any weight at run time (the map
 * algorithms, static-rr and source, only take 0% and 100%).
 */
export function lbIsDynamic(p: Proxy): boolean {
  const a = p.cfg.balance;
  return a === "roundrobin" || a === "leastconn" || a === "first";
}

/**
 * HAProxy: server_parse_weight_change_request(). Set <s>'s user weight from "<N>" (absolute,
 * 0..256) or "<N>%" (relative to the configured weight, capped at 256), then recompute its
 * effective weight and apply it (server_recalc_eweight() registers the update). Returns null, or
 * HAProxy's error message.
 */
export function serverParseWeightChangeRequest(s: Server, str: string | undefined): string | null {
  if (!str) return "Require <weight> or <weight%>.\n";
  // strtol(): leading blanks, a sign, digits.
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)(.*)$/s.exec(str);
  if (!m) return "Empty weight string empty or preceded by garbage";
  let w = Number(m[1]);
  const end = m[2];
  if (end === "%") {
    if (w < 0) return "Relative weight must be positive.\n";
    if (w > 25600) w = 25600;
    w = Math.trunc((s.iweight * w) / 100);
    if (w > 256) w = 256;
  } else if (w < 0 || w > 256) {
    return "Absolute weight can only be between 0 and 256 inclusive.\n";
  } else if (end !== "") {
    return "Trailing garbage in weight string";
  }
  if (w && w !== s.iweight && !lbIsDynamic(s.proxy)) {
    return "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n";
  }
  s.uweight = w;
  serverRecalcEweight(s);
  srvUpdateStatus(s);
  return null;
}

/**
 * HAProxy: srv_shutdown_streams(): shut every stream holding a connection slot on <srv> (its
 * actconns list), with termination code <why> (SF_ERR_*).
 */
export function srvShutdownStreams(srv: Server, why: number): void {
  for (const s of [...streams]) if (s.srvConn === srv) streamShutdown(s, why);
}
