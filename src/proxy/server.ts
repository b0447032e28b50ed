/**
 * Servers and proxies at run time. HAProxy 1.8: struct server (include/types/server.h) and
 * struct proxy (include/types/proxy.h), the parts a TCP proxy uses.
 */
import type { ProxyConfig, ServerConfig } from "../config/types";
import type { Listener } from "../net/listener";
import { clock } from "../core/clock";
import { FreqCtr } from "../core/freq_ctr";

/** HAProxy: SRV_ST_* (include/types/server.h). */
export const SRV_ST_STOPPED = 0;
export const SRV_ST_STARTING = 1;
export const SRV_ST_RUNNING = 2;
export const SRV_ST_STOPPING = 3;

/** HAProxy: SRV_ADMF_* administrative state bits (include/types/server.h, enum srv_admin). */
export const SRV_ADMF_FMAINT = 0x01;
export const SRV_ADMF_IMAINT = 0x02;
export const SRV_ADMF_MAINT = 0x23;
export const SRV_ADMF_CMAINT = 0x04;
export const SRV_ADMF_FDRAIN = 0x08;
export const SRV_ADMF_IDRAIN = 0x10;
export const SRV_ADMF_DRAIN = 0x18;
export const SRV_ADMF_RMAINT = 0x20;

/** Seconds of the wall clock, as HAProxy's now.tv_sec (for last_change, last_sess). */
export function nowSec(): number {
  return Math.floor(clock.dateMs / 1000);
}

/** HAProxy: struct server. */
export class Server {
  /** Current state (SRV_ST_*). */
  curState = SRV_ST_RUNNING;
  /** Live streams on this server. HAProxy: cur_sess. */
  curSess = 0;
  maxSess = 0;
  /** Streams sent to this server. HAProxy: cum_sess. */
  cumSess = 0;
  /** Connection failures / retries / redispatches. */
  failedConns = 0;
  retries = 0;
  redispatches = 0;
  /** Streams waiting in this server's queue. */
  nbpend = 0;
  /** Destination sockaddr bytes, built at start-up. */
  addr: Buffer = Buffer.alloc(0);
  addrLen = 0;
  /** Numeric address and port, for logs. */
  host = "";
  port = 0;
  /** Weight (effective): what load balancing uses. HAProxy: eweight. */
  weight: number;
  /** Weight from the configuration. HAProxy: iweight. */
  iweight: number;
  /** Weight set by the user (configuration or `set weight`). HAProxy: uweight. */
  uweight: number;
  /**
   * Administrative state, SRV_ADMF_* bits (HAProxy: cur_admin). A server in MAINT takes no
   * traffic and is reported STOPPED; a server in DRAIN keeps its streams but gets no new ones.
   * Load balancing must skip both (see usableServers() in backend.ts).
   */
  adminState = 0;
  /** Wall-clock second of the last state change. HAProxy: last_change. */
  lastChange = nowSec();
  /** Seconds spent down before lastChange. HAProxy: down_time. */
  downTime = 0;
  /** UP -> DOWN transitions. HAProxy: counters.down_trans. */
  downTrans = 0;
  /** Times the load-balancing algorithm picked this server. HAProxy: counters.cum_lbconn. */
  lbtot = 0;
  /** Highest queue length seen. HAProxy: counters.nbpend_max. */
  nbpendMax = 0;
  /** Aborts by the client / the server in data phase. HAProxy: counters.cli_aborts / srv_aborts. */
  cliAborts = 0;
  srvAborts = 0;
  /** Wall-clock second of the last connection sent here, 0 = never. HAProxy: counters.last_sess. */
  lastSess = 0;
  /** Connection rate and its maximum. HAProxy: sess_per_sec, counters.sps_max. */
  readonly sessPerSec = new FreqCtr();
  spsMax = 0;
  /** Sliding sums of queue / connect / data / total times. HAProxy: counters.q_time ... t_time. */
  qTime = 0;
  cTime = 0;
  dTime = 0;
  tTime = 0;
  /** Position for weighted round-robin (smooth WRR current weight). */
  rrCurrent = 0;
  /** Bytes in/out. */
  bytesIn = 0;
  bytesOut = 0;
  /** HAProxy: puid. */
  puid: number;

  constructor(readonly cfg: ServerConfig, readonly proxy: Proxy, puid: number) {
    this.weight = this.iweight = this.uweight = cfg.weight;
    this.puid = puid;
    // HAProxy: srv_parse_disabled() sets SRV_ADMF_CMAINT | SRV_ADMF_FMAINT.
    if (cfg.disabled) {
      this.curState = SRV_ST_STOPPED;
      this.adminState = SRV_ADMF_CMAINT | SRV_ADMF_FMAINT;
    }
  }

  get id(): string {
    return this.cfg.name;
  }
}

/**
 * HAProxy: srv_willbe_usable(): whether load balancing may pick <s>: running (or starting), a
 * non-zero weight, neither in maintenance nor draining.
 */
export function srvIsUsable(s: Server): boolean {
  return s.weight > 0 && (s.adminState & (SRV_ADMF_MAINT | SRV_ADMF_DRAIN)) === 0 &&
    (s.curState === SRV_ST_RUNNING || s.curState === SRV_ST_STARTING);
}

/** HAProxy: PR_STNEW..PR_STSTOPPED (include/types/proxy.h). */
export const PR_STNEW = 0;
export const PR_STREADY = 1;
export const PR_STFULL = 2;
export const PR_STPAUSED = 3;
export const PR_STSTOPPED = 4;
export const PR_STERROR = 5;

/** HAProxy: struct proxy. */
export class Proxy {
  state = PR_STNEW;
  /** Live frontend sessions. HAProxy: feconn. */
  feconn = 0;
  /** Live backend streams. HAProxy: beconn. */
  beconn = 0;
  /** Cumulated frontend / backend connections. */
  cumFeconn = 0;
  cumBeconn = 0;
  feconnMax = 0;
  /** Frontend connection limit. HAProxy: maxconn. */
  maxconn: number;
  /** Listeners of this frontend. */
  listeners: Listener[] = [];
  /** Servers of this backend, in declaration order. */
  servers: Server[] = [];
  /** The backend a frontend sends its traffic to. HAProxy: defbe.be. */
  defbe: Proxy | null = null;
  /** Listeners waiting for a slot (LI_LIMITED on this frontend). HAProxy: listener_queue. */
  listenerQueue: Listener[] = [];
  /** Streams waiting for a server of this backend. HAProxy: nbpend. */
  nbpend = 0;
  /** Last server handed out by static-rr / roundrobin. */
  lbpos = 0;
  /** Frontend counters for `show stat` and logs. HAProxy: fe_counters.bytes_in/out, cli/srv_aborts. */
  bytesIn = 0;
  bytesOut = 0;
  cliAborts = 0;
  srvAborts = 0;
  /** Frontend connection and session rates and their maxima. HAProxy: fe_conn_per_sec, fe_sess_per_sec. */
  readonly feConnPerSec = new FreqCtr();
  readonly feSessPerSec = new FreqCtr();
  feCpsMax = 0;
  feSpsMax = 0;
  /**
   * Backend counters (HAProxy: be_counters). Kept apart from the frontend ones because a `listen`
   * proxy is both and HAProxy reports each side with its own counters.
   */
  beBytesIn = 0;
  beBytesOut = 0;
  beCliAborts = 0;
  beSrvAborts = 0;
  /** Backend connection failures, retries, redispatches. HAProxy: be_counters.failed_conns ... */
  failedConns = 0;
  /**
   * Connections closed before becoming a stream because their handshake failed: a PROXY header
   * that was malformed, truncated, or not received within `timeout client` (accept-proxy).
   */
  failedHandshakes = 0;
  retries = 0;
  redispatches = 0;
  /** Highest beconn / backend queue length seen. HAProxy: be_counters.conn_max, nbpend_max. */
  beconnMax = 0;
  nbpendMax = 0;
  /** Load-balanced connections. HAProxy: be_counters.cum_lbconn. */
  lbtot = 0;
  /** Backend session rate and its maximum. HAProxy: be_sess_per_sec, be_counters.sps_max. */
  readonly beSessPerSec = new FreqCtr();
  beSpsMax = 0;
  /** Wall-clock second of the last session, 0 = never. HAProxy: be_counters.last_sess. */
  lastSess = 0;
  /** Last time the backend went up or down, seconds down before it, transitions to DOWN. */
  lastChange = nowSec();
  downTime = 0;
  downTrans = 0;
  /** Sliding sums of queue / connect / data / total times. HAProxy: be_counters.q_time ... t_time. */
  qTime = 0;
  cTime = 0;
  dTime = 0;
  tTime = 0;
  /** HAProxy: uuid. */
  uuid: number;

  constructor(readonly cfg: ProxyConfig, uuid: number) {
    this.maxconn = cfg.maxconn;
    this.uuid = uuid;
  }

  get id(): string {
    return this.cfg.name;
  }

  /** HAProxy: srv_act: usable (srvIsUsable), non-backup servers. */
  activeServers(): number {
    let n = 0;
    for (const s of this.servers) if (!s.cfg.backup && srvIsUsable(s)) n++;
    return n;
  }

  /** HAProxy: srv_bck: usable backup servers. */
  backupServers(): number {
    let n = 0;
    for (const s of this.servers) if (s.cfg.backup && srvIsUsable(s)) n++;
    return n;
  }

  /**
   * HAProxy: lbprm.tot_weight: the weight load balancing spreads over: the usable active servers'
   * weights, else the first usable backup's (hapoll has no `option allbackups`).
   */
  totWeight(): number {
    let act = 0;
    let bck = -1;
    for (const s of this.servers) {
      if (!srvIsUsable(s)) continue;
      if (!s.cfg.backup) act += s.weight;
      else if (bck < 0) bck = s.weight;
    }
    return act > 0 || bck < 0 ? act : bck;
  }
}
