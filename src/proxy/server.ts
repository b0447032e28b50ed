/**
 * Servers and proxies at run time. HAProxy 1.8: struct server (include/types/server.h) and
 * struct proxy (include/types/proxy.h), the parts a TCP proxy uses.
 */
import type { ProxyConfig, ServerConfig } from "../config/types";
import type { Listener } from "../net/listener";

/** HAProxy: SRV_ST_* (include/types/server.h). */
export const SRV_ST_STOPPED = 0;
export const SRV_ST_STARTING = 1;
export const SRV_ST_RUNNING = 2;
export const SRV_ST_STOPPING = 3;

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
  /** Weight (effective). */
  weight: number;
  /** Position for weighted round-robin (smooth WRR current weight). */
  rrCurrent = 0;
  /** Bytes in/out. */
  bytesIn = 0;
  bytesOut = 0;
  /** HAProxy: puid. */
  puid: number;

  constructor(readonly cfg: ServerConfig, readonly proxy: Proxy, puid: number) {
    this.weight = cfg.weight;
    this.puid = puid;
    if (cfg.disabled) this.curState = SRV_ST_STOPPED;
  }

  get id(): string {
    return this.cfg.name;
  }
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
  /** Counters for `show stat` and logs. */
  bytesIn = 0;
  bytesOut = 0;
  cliAborts = 0;
  srvAborts = 0;
  failedConns = 0;
  /**
   * Connections closed before becoming a stream because their handshake failed: a PROXY header
   * that was malformed, truncated, or not received within `timeout client` (accept-proxy).
   */
  failedHandshakes = 0;
  /** HAProxy: uuid. */
  uuid: number;

  constructor(readonly cfg: ProxyConfig, uuid: number) {
    this.maxconn = cfg.maxconn;
    this.uuid = uuid;
  }

  get id(): string {
    return this.cfg.name;
  }

  /** HAProxy: srv_act: running, non-backup servers. */
  activeServers(): number {
    let n = 0;
    for (const s of this.servers) if (s.curState === SRV_ST_RUNNING && !s.cfg.backup) n++;
    return n;
  }
}
