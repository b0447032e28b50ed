/**
 * Process-wide settings and counters. HAProxy: struct global (include/types/global.h) and the
 * counters of src/haproxy.c (jobs, actconn, totalconn, stopping).
 */
import { FreqCtr } from "./freq_ctr";

/** HAProxy: MAX_DELAY_MS (1.8): the longest a poller sleeps, even with nothing to wait for. */
export const MAX_DELAY_MS = 1000;
/** HAProxy: SCHEDULER_RESOLUTION: select() adds it to its timeout. */
export const SCHEDULER_RESOLUTION = 9;
/** HAProxy: MIN_RECV_AT_ONCE_ENOUGH (7 * 1448), the default tune.recv_enough. */
export const MIN_RECV_AT_ONCE_ENOUGH = 7 * 1448;
/** HAProxy: MAX_READ_POLL_LOOPS: reads si_cs_recv_cb() makes in one call at most. */
export const MAX_READ_POLL_LOOPS = 4;
/** HAProxy: MAX_POLL_EVENTS, the default tune.maxpollevents. */
export const MAX_POLL_EVENTS = 200;

/** HAProxy: struct global, the parts hapoll uses. */
export const global = {
  /**
   * The bound of fd numbers and fdtab's size, what HAProxy's code uses global.maxsock for: HAProxy's
   * own figure (haproxyMaxsock()) plus runtimeFds.
   */
  maxsock: 0,
  /**
   * The part of maxsock kept for the fds Node itself holds below hapoll's first one (stdio, libuv's
   * epoll fd, pipes, eventfds: about 20). HAProxy has no such thing, so `show info`, the messages
   * and the select poller's test leave it out (haproxyMaxsock()).
   */
  runtimeFds: 0,
  /** Global connection limit. */
  maxconn: 0,
  /** Connections accepted per second at most (`maxconnrate`, `set rate-limit connections global`), 0: no limit. HAProxy: global.cps_lim. */
  cpsLim: 0,
  /** -m: the memory limit in MB (0: none). HAProxy: global.rlimit_memmax. */
  memmax: 0,
  /** Set while the resident memory is at or above memmax: listeners stop accepting. */
  memFull: false,
  /** The maxconn the process started with (`show info`'s Hard_maxconn). HAProxy: global.hardmaxconn. */
  hardmaxconn: 0,
  /** HAProxy: global.tune.maxpollevents. */
  maxpollevents: MAX_POLL_EVENTS,
  /** HAProxy: global.tune.maxaccept (0: not set). */
  maxaccept: 0,
  /** HAProxy: GTUNE_USE_SPLICE: kernel splicing allowed (Linux, not `nosplice`, not -dS). */
  splice: false,
  /** HAProxy: global.maxpipes. */
  maxpipes: 0,
  /** HAProxy: global.tune.bufsize. */
  bufsize: 16384,
  /** HAProxy: global.tune.maxrewrite: the end of a buffer that input may not use before forwarding. */
  maxrewrite: 1024,
  /** HAProxy: global.tune.recv_enough: a short read at least this large ends a read loop. */
  recvEnough: MIN_RECV_AT_ONCE_ENOUGH,
  /**
   * hapoll only, not HAProxy (`tune.hapoll.read-loops`): how many times conn_fd_handler() may call
   * the data layer again, without going back to the poller, after a read that filled the buffer.
   * 1 (the default) is HAProxy's behaviour: one call per fd per cache walk.
   */
  readLoops: 1,
  /** Verbosity: HAProxy MODE_DEBUG (-d), MODE_QUIET (-q), MODE_VERBOSE (-V). */
  debug: false,
  quiet: false,
  verbose: false,
};

/**
 * HAProxy 1.8's global.maxsock for the same configuration: 10 for the process itself, one per
 * listener and health check, two per connection and pipe, the stats sockets' (init(), cfgparse.c,
 * cli.c, server.c). What `show info` reports and what the select poller's test compares.
 */
export function haproxyMaxsock(): number {
  return global.maxsock - global.runtimeFds;
}

/** HAProxy's counters of live things. */
export const counters = {
  /** HAProxy: jobs. Listeners + sessions (+ anything that must keep the process alive). */
  jobs: 0,
  /** HAProxy: actconn, live connections counted against global maxconn. */
  actconn: 0,
  /** HAProxy: totalconn. */
  totalconn: 0,
  /** Streams created so far, the source of stream ids (`show info`'s CumReq). HAProxy: global.req_count. */
  reqCount: 0,
  /** Accepted connections and sessions per second, and their maxima. HAProxy: global.conn_per_sec ... */
  connPerSec: new FreqCtr(),
  sessPerSec: new FreqCtr(),
  cpsMax: 0,
  spsMax: 0,
  /** Allocations refused for memory (-m): connections closed at accept. HAProxy: pool_total_failures(). */
  poolFailed: 0,
  /** HAProxy: stopping (soft stop in progress). */
  stopping: false,
  /** Set by a hard stop (SIGTERM/SIGINT): the loop leaves at once. */
  hardStop: false,
  /** Loop turns run (for `hapoll top` and traces). */
  loops: 0,
};
