/**
 * Activity counters: one structure for a frontend, one for a backend or a server, each with its
 * two resets (`clear counters` resets the maxima, `clear counters all` everything). HAProxy 1.8:
 * struct fe_counters and struct be_counters (include/types/counters.h), kept in struct proxy as
 * fe_counters / be_counters and in struct server as counters. A `listen` proxy has both, and
 * `show stat` reports each side from its own.
 */

/** HAProxy: struct fe_counters. */
export class FeCounters {
  /** Connections accepted (HAProxy: cum_conn; TCP mode: one session each). */
  cumConn = 0;
  /** Most connections at once, highest connection and session rates. HAProxy: conn_max, cps_max, sps_max. */
  connMax = 0;
  cpsMax = 0;
  spsMax = 0;
  /** Bytes from / to the clients. */
  bytesIn = 0;
  bytesOut = 0;
  /** Transfers aborted by the client / by the server side. */
  cliAborts = 0;
  srvAborts = 0;
  /** Connections, requests and responses denied by tcp-request / tcp-response rules. */
  deniedConn = 0;
  deniedReq = 0;
  deniedResp = 0;
  /**
   * Connections closed before becoming a stream because their handshake failed: a PROXY header
   * that was malformed, truncated, or not received within `timeout client` (accept-proxy).
   */
  failedHandshakes = 0;

  /** `clear counters`: the maxima. */
  resetMax(): void {
    this.connMax = this.cpsMax = this.spsMax = 0;
  }

  /** `clear counters all`: everything (HAProxy: memset of fe_counters). */
  reset(): void {
    this.cumConn = this.connMax = this.cpsMax = this.spsMax = 0;
    this.bytesIn = this.bytesOut = this.cliAborts = this.srvAborts = 0;
    this.deniedConn = this.deniedReq = this.deniedResp = this.failedHandshakes = 0;
  }
}

/** HAProxy: struct be_counters, for a backend and for a server. */
export class BeCounters {
  /** Streams sent to this backend (HAProxy: cum_conn) / to this server (cum_sess). */
  cumConn = 0;
  cumSess = 0;
  /** Times the load balancer picked it. HAProxy: cum_lbconn (`lbtot`). */
  cumLbconn = 0;
  /** Most streams at once on the backend (conn_max) / on the server (cur_sess_max), most queued. */
  connMax = 0;
  curSessMax = 0;
  nbpendMax = 0;
  /** Highest session rate. HAProxy: sps_max. */
  spsMax = 0;
  /** Bytes from / to the clients. */
  bytesIn = 0;
  bytesOut = 0;
  /** Transfers aborted by the client / by the server side. */
  cliAborts = 0;
  srvAborts = 0;
  /** Connection failures, retries, redispatches. */
  failedConns = 0;
  retries = 0;
  redispatches = 0;
  /** A server's failed checks and its UP -> DOWN transitions. HAProxy: failed_checks, down_trans. */
  failedChecks = 0;
  downTrans = 0;
  /** Wall-clock second of the last session, 0 = never. HAProxy: last_sess. */
  lastSess = 0;
  /** Sliding sums of queue / connect / data / total times. HAProxy: q_time, c_time, d_time, t_time. */
  qTime = 0;
  cTime = 0;
  dTime = 0;
  tTime = 0;

  /** `clear counters`: the maxima. */
  resetMax(): void {
    this.connMax = this.curSessMax = this.nbpendMax = this.spsMax = 0;
  }

  /** `clear counters all`: everything (HAProxy: memset of be_counters / srv->counters). */
  reset(): void {
    this.resetMax();
    this.cumConn = this.cumSess = this.cumLbconn = this.bytesIn = this.bytesOut = 0;
    this.cliAborts = this.srvAborts = this.failedConns = this.retries = this.redispatches = 0;
    this.failedChecks = this.downTrans = this.lastSess = 0;
    this.qTime = this.cTime = this.dTime = this.tTime = 0;
  }
}
