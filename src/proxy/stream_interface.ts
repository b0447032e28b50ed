/**
 * Stream interfaces: the two ends of a stream. HAProxy 1.8: struct stream_interface
 * (include/types/stream_interface.h), src/stream_interface.c, include/proto/stream_interface.h.
 *
 * si_f (index 0) faces the client, si_b (index 1) the server. Each reads into its input channel
 * (ic) and writes from its output channel (oc): si_f.ic = req, si_f.oc = res, and the reverse for
 * si_b. The server side walks these states (process_stream drives them):
 *
 *   INI ──▶ REQ ──▶ ASS ──▶ CON ──▶ EST ──▶ DIS ──▶ CLO
 *            │ ▲     ▲ ▲      │       (data)
 *            │ │     │ └ TAR ◀┤ CER (connect error/timeout; retries left, turn-around delay)
 *            ▼ │     │        │
 *           QUE ─────┘        └──▶ CLO (no retries left)
 *
 * I/O on an established side runs without the stream task: the connection's wake callback
 * (siConnWakeCb -> streamIntNotify) forwards freshly read data straight to the other side
 * (si_chk_snd) and re-enables reading when room was made (si_chk_rcv). The task is woken only for
 * what needs a decision: shutdowns, errors, connection establishment, timeouts.
 */
import { clock } from "../core/clock";
import { fdStopRecv, fdStopSend, fdWantRecv, fdWantSend, fdStopBoth } from "../core/fd";
import { global } from "../core/global";
import { Task, taskWakeup, TASK_WOKEN_IO } from "../core/task";
import { TICK_ETERNITY, tickAdd, tickAddIfSet, tickIsSet } from "../core/ticks";
import {
  Connection, ConnDataCb, connFullClose, connSockShutw, rawSockFromBuf, rawSockToBuf, rawSockFromPipe,
  rawSockToPipe, CO_FL_WAIT_ROOM, CO_FL_HANDSHAKE,
  CO_FL_CONNECTED, CO_FL_ERROR, CO_FL_SOCK_RD_SH, CO_FL_SOCK_WR_SH, CO_FL_WAIT_L4_CONN,
} from "../net/connection";
import {
  Channel, CF_AUTO_CLOSE, CF_READ_ERROR, CF_READ_NOEXP, CF_READ_NULL, CF_READ_PARTIAL, CF_SHUTR,
  CF_SHUTR_NOW, CF_SHUTW, CF_SHUTW_NOW, CF_WAKE_WRITE, CF_WRITE_ACTIVITY, CF_WRITE_ERROR, CF_WRITE_EVENT,
  CF_WRITE_NULL, CF_WRITE_PARTIAL, CF_WROTE_DATA, CF_KERN_SPLICING, CF_STREAMER,
  CF_STREAMER_FAST, pipesInUse,
} from "./channel";

/** HAProxy: SI_ST_* (include/types/stream_interface.h), in HAProxy's order (comparisons rely on it). */
export const SI_ST_INI = 0;
export const SI_ST_REQ = 1;
export const SI_ST_QUE = 2;
export const SI_ST_TAR = 3;
export const SI_ST_ASS = 4;
export const SI_ST_CON = 5;
export const SI_ST_CER = 6;
export const SI_ST_EST = 7;
export const SI_ST_DIS = 8;
export const SI_ST_CLO = 9;
/** Names of the SI_ST_* states for traces and `show sess`. */
export const SI_ST_NAMES = ["INI", "REQ", "QUE", "TAR", "ASS", "CON", "CER", "EST", "DIS", "CLO"];

/** HAProxy: SI_ET_* error types. */
export const SI_ET_NONE = 0x0000;
export const SI_ET_QUEUE_TO = 0x0001;
export const SI_ET_QUEUE_ERR = 0x0002;
export const SI_ET_QUEUE_ABRT = 0x0004;
export const SI_ET_CONN_TO = 0x0008;
export const SI_ET_CONN_ERR = 0x0010;
export const SI_ET_CONN_ABRT = 0x0020;
export const SI_ET_CONN_RES = 0x0040;
export const SI_ET_CONN_OTHER = 0x0080;
export const SI_ET_DATA_TO = 0x0100;
export const SI_ET_DATA_ERR = 0x0200;
export const SI_ET_DATA_ABRT = 0x0400;

/** HAProxy: SI_FL_* flags. */
export const SI_FL_EXP = 0x0001;
export const SI_FL_ERR = 0x0002;
export const SI_FL_WAIT_ROOM = 0x0004;
export const SI_FL_WAIT_DATA = 0x0008;
export const SI_FL_DONT_WAKE = 0x0020;
export const SI_FL_INDEP_STR = 0x0040;
export const SI_FL_NOLINGER = 0x0080;
export const SI_FL_NOHALF = 0x0100;

/** Hook for traces: (si, oldState, newState, reason); null when off. */
export const siHooks: { onState: ((si: StreamInterface, from: number, to: number, why: string) => void) | null } = {
  onState: null,
};

/** HAProxy: struct stream_interface. */
export class StreamInterface implements ConnDataCb {
  state: number = SI_ST_INI;
  prevState: number = SI_ST_INI;
  flags = 0;
  errType = SI_ET_NONE;
  /** Expiry of the current state (connect timeout, turn-around), TICK_ETERNITY when none. */
  exp = TICK_ETERNITY;
  connRetries = 0;
  /** Timeout once this side is half-closed (client-fin / server-fin), 0 when none. */
  hcto = 0;
  /** The connection (its fd is -1 until connected or accepted). */
  readonly conn = new Connection();

  constructor(
    /** 0 = client side, 1 = server side. */
    readonly side: number,
    readonly ic: Channel,
    readonly oc: Channel,
    /** The stream's task, woken on events that need a decision. */
    readonly task: Task,
  ) {
    this.conn.data = this;
    this.conn.owner = this;
  }

  /** The other end of the stream. Set by the stream right after construction. */
  opposite!: StreamInterface;

  /** Change state, telling the trace hook. */
  setState(st: number, why: string): void {
    if (siHooks.onState !== null) siHooks.onState(this, this.state, st, why);
    this.state = st;
  }

  /* ---- ConnDataCb: called by connFdHandler ---- */

  /**
   * HAProxy: si_cs_recv_cb(). Read as much as fits (into the kernel pipe when splicing, else into
   * the buffer); report EOF as a read shutdown.
   */
  recv(conn: Connection): void {
    const ic = this.ic;
    if (conn.flags & CO_FL_ERROR) return;
    if (ic.flags & CF_SHUTR) return;
    let ret = 0;
    let spliced = false;
    if ((ic.flags & CF_KERN_SPLICING) && ic.tail === ic.head) {
      if (ic.getPipe()) {
        conn.flags &= ~CO_FL_WAIT_ROOM;
        ret = rawSockToPipe(conn, ic);
        if (ret < 0) {
          // splice() does not work on this fd: never try again for this channel.
          ic.flags &= ~CF_KERN_SPLICING;
          ret = 0;
        } else {
          spliced = true;
          if (conn.flags & CO_FL_WAIT_ROOM) this.flags |= SI_FL_WAIT_ROOM;
        }
      } else {
        ic.flags &= ~CF_KERN_SPLICING;
      }
    }
    if (!spliced) {
      if (ic.pipeR >= 0 && ic.pipeData === 0) ic.putPipe();
      if (!ic.mayRecv()) {
        this.flags |= SI_FL_WAIT_ROOM;
        return;
      }
      // rawSockToBuf loops until the buffer is full, EAGAIN, a short read or EOF.
      ret = rawSockToBuf(conn, ic, 0x7fffffff);
      if (ret > 0) streamerDetect(ic, ret);
      if (!ic.mayRecv()) {
        this.flags |= SI_FL_WAIT_ROOM;
        conn.readFull = true;
      }
    }
    if (ret > 0) {
      ic.flags |= CF_READ_PARTIAL;
      ic.total += ret;
    }
    if (conn.flags & CO_FL_ERROR) return;
    if (conn.flags & CO_FL_SOCK_RD_SH) {
      // HAProxy: out_shutdown_r
      ic.flags |= CF_READ_NULL;
      if (ic.flags & CF_AUTO_CLOSE) ic.shutwNow();
      streamSockRead0(this);
    }
  }

  /** HAProxy: si_cs_send_cb(). */
  send(conn: Connection): void {
    if (conn.flags & CO_FL_ERROR) return;
    if (this.oc.flags & CF_SHUTW) return;
    siConnSend(this);
  }

  /** HAProxy: si_cs_wake_cb(). */
  wake(conn: Connection): void {
    const ic = this.ic;
    const oc = this.oc;
    if (conn.flags & CO_FL_ERROR) this.flags |= SI_FL_ERR;
    if (this.state < SI_ST_EST && (conn.flags & CO_FL_CONNECTED)) {
      this.exp = TICK_ETERNITY;
      oc.flags |= CF_WRITE_NULL;
    }
    streamIntNotify(this);
    ic.releaseIfEmpty();
    if (conn.fd < 0) return;
    // Write polling stays on while connecting or while a handshake (the PROXY header) must go out.
    if (oc.isEmpty() && !(conn.flags & (CO_FL_WAIT_L4_CONN | CO_FL_HANDSHAKE))) fdStopSend(conn.fd);
    if (this.flags & SI_FL_WAIT_ROOM) fdStopRecv(conn.fd);
    else if ((ic.flags & (CF_SHUTR | CF_READ_PARTIAL)) === CF_READ_PARTIAL && ic.mayRecv()) fdWantRecv(conn.fd);
    if (this.flags & SI_FL_ERR) fdStopBoth(conn.fd);
  }
}

/**
 * HAProxy's streamer detection (in si_cs_recv_cb): three reads in a row that nearly fill the buffer
 * mark the channel CF_STREAMER_FAST (what `option splice-auto` waits for); small reads clear it.
 */
function streamerDetect(ic: Channel, curRead: number): void {
  const size = global.bufsize;
  if ((ic.flags & (CF_STREAMER | CF_STREAMER_FAST)) && curRead <= size / 2) {
    ic.xferLarge = 0;
    ic.xferSmall++;
    if (ic.xferSmall >= 3) ic.flags &= ~(CF_STREAMER | CF_STREAMER_FAST);
    else if (ic.xferSmall >= 2) ic.flags &= ~CF_STREAMER_FAST;
  } else if (!(ic.flags & CF_STREAMER_FAST) && curRead >= size - 1024) {
    ic.xferSmall = 0;
    ic.xferLarge++;
    if (ic.xferLarge >= 3) {
      ic.flags |= CF_STREAMER | CF_STREAMER_FAST;
      // HAProxy decides this in process_stream; the fast path never wakes the task, so the
      // splice-auto decision is taken where the streamer is detected.
      if (ic.spliceMode === 2 && pipesInUse() < global.maxpipes) ic.flags |= CF_KERN_SPLICING;
    }
  } else {
    ic.xferSmall = 0;
    ic.xferLarge = 0;
  }
}

/** HAProxy: si_cs_send(). Send oc's data (the pipe first, then the buffer); flag the activity. */
function siConnSend(si: StreamInterface): void {
  const conn = si.conn;
  const oc = si.oc;
  // No data before the handshake is done: the PROXY header must be the first bytes on the wire.
  if (conn.flags & CO_FL_HANDSHAKE) return;
  oc.flags &= ~CF_WRITE_PARTIAL;
  if (oc.pipeData !== 0 && !(conn.flags & (CO_FL_ERROR | CO_FL_SOCK_WR_SH)) && !(oc.flags & CF_SHUTW)) {
    const n = rawSockFromPipe(conn, oc);
    if (n > 0) oc.flags |= CF_WRITE_PARTIAL | CF_WROTE_DATA | CF_WRITE_EVENT;
    if (oc.pipeData !== 0 || (conn.flags & CO_FL_ERROR)) return;
  }
  if (oc.tail === oc.head) return;
  if (conn.flags & (CO_FL_ERROR | CO_FL_SOCK_WR_SH)) return;
  if (oc.flags & CF_SHUTW) return;
  const ret = rawSockFromBuf(conn, oc, 0);
  if (ret > 0) oc.flags |= CF_WRITE_PARTIAL | CF_WROTE_DATA | CF_WRITE_EVENT;
}

/**
 * HAProxy: stream_int_notify(). After I/O on <si>: update timeouts, forward to the other side,
 * re-enable the other side's reading, and wake the task only when something needs a decision.
 */
export function streamIntNotify(si: StreamInterface): void {
  const ic = si.ic;
  const oc = si.oc;
  const other = si.opposite;
  const now = clock.nowMs;

  if (oc.isEmpty()) {
    if ((oc.flags & (CF_SHUTW | CF_SHUTW_NOW)) === CF_SHUTW_NOW && si.state === SI_ST_EST) siShutw(si);
    oc.wex = TICK_ETERNITY;
  }
  if ((oc.flags & (CF_SHUTW | CF_SHUTW_NOW)) === 0 && oc.mayRecv()) si.flags |= SI_FL_WAIT_DATA;
  else if ((oc.flags & (CF_SHUTW | CF_SHUTW_NOW)) === CF_SHUTW_NOW) si.flags &= ~SI_FL_WAIT_DATA;

  if (oc.flags & CF_WRITE_ACTIVITY) {
    if ((oc.flags & (CF_SHUTW | CF_WRITE_PARTIAL)) === CF_WRITE_PARTIAL && !oc.isEmpty()) {
      if (tickIsSet(oc.wex)) oc.wex = tickAddIfSet(now, oc.wto);
    }
    if (!(si.flags & SI_FL_INDEP_STR) && tickIsSet(ic.rex)) ic.rex = tickAddIfSet(now, ic.rto);
    if ((oc.flags & (CF_SHUTW | CF_WRITE_PARTIAL)) === CF_WRITE_PARTIAL && oc.mayRecv() &&
        (other.flags & SI_FL_WAIT_ROOM)) {
      siChkRcv(other);
    }
  }
  ic.flags &= ~CF_WRITE_PARTIAL;

  if (!ic.isEmpty() && (other.flags & SI_FL_WAIT_DATA)) {
    const lastLen = ic.outLen() + ic.pipeData;
    siChkSnd(other);
    if (ic.mayRecv() && ic.outLen() + ic.pipeData < lastLen) si.flags &= ~SI_FL_WAIT_ROOM;
  }

  if (si.flags & SI_FL_WAIT_ROOM) {
    ic.rex = TICK_ETERNITY;
  } else if ((ic.flags & (CF_SHUTR | CF_READ_PARTIAL)) === CF_READ_PARTIAL && ic.mayRecv()) {
    if (!(ic.flags & CF_READ_NOEXP) && tickIsSet(ic.rex)) ic.rex = tickAddIfSet(now, ic.rto);
  }

  if ((ic.flags & (CF_READ_NULL | CF_READ_ERROR)) ||
      si.state !== SI_ST_EST ||
      (si.flags & SI_FL_ERR) ||
      ((ic.flags & CF_READ_PARTIAL) && other.state !== SI_ST_EST) ||
      (oc.flags & (CF_WRITE_NULL | CF_WRITE_ERROR)) ||
      ((oc.flags & (CF_WRITE_ACTIVITY | CF_WRITE_EVENT)) &&
       ((oc.flags & CF_SHUTW) ||
        ((oc.flags & CF_WAKE_WRITE) && (other.state !== SI_ST_EST || oc.isEmpty()))))) {
    taskWakeup(si.task, TASK_WOKEN_IO);
  } else if (!(si.task.state & 1 /* TASK_RUNNING */) && si.task.rq.idx === -1) {
    // The task is not woken, but the channel timers moved: keep its expiry in step. task_queue()
    // is lazy, so this costs nothing unless the expiry moved earlier.
    streamUpdateExpire(si.task);
  }
}

/** Set by stream.ts: recompute a stream task's expiry from its channels (HAProxy: the tail of process_stream). */
export const streamExpireHook: { fn: (t: Task) => void } = { fn: () => {} };
function streamUpdateExpire(t: Task): void {
  streamExpireHook.fn(t);
}

/** HAProxy: stream_sock_read0(): the peer closed its write side. */
export function streamSockRead0(si: StreamInterface): void {
  const ic = si.ic;
  const oc = si.oc;
  ic.flags &= ~CF_SHUTR_NOW;
  if (ic.flags & CF_SHUTR) return;
  ic.flags |= CF_SHUTR;
  ic.rex = TICK_ETERNITY;
  si.flags &= ~SI_FL_WAIT_ROOM;
  if (si.state !== SI_ST_EST && si.state !== SI_ST_CON) return;
  if (oc.flags & CF_SHUTW) {
    doClose(si);
    return;
  }
  if (si.flags & SI_FL_NOHALF) {
    connSockShutw(si.conn, false);
    doClose(si);
    return;
  }
  if (si.conn.fd >= 0) fdStopRecv(si.conn.fd);
}

function doClose(si: StreamInterface): void {
  const oc = si.oc;
  connFullClose(si.conn);
  oc.flags &= ~CF_SHUTW_NOW;
  oc.flags |= CF_SHUTW;
  oc.wex = TICK_ETERNITY;
  si.flags &= ~SI_FL_WAIT_DATA;
  si.setState(SI_ST_DIS, "read0 after shutw");
  si.exp = TICK_ETERNITY;
}

/** HAProxy: si_shutr() = stream_int_shutr_conn(): stop reading from this side. */
export function siShutr(si: StreamInterface): void {
  const ic = si.ic;
  ic.flags &= ~CF_SHUTR_NOW;
  if (ic.flags & CF_SHUTR) return;
  ic.flags |= CF_SHUTR;
  ic.rex = TICK_ETERNITY;
  si.flags &= ~SI_FL_WAIT_ROOM;
  if (si.state !== SI_ST_EST && si.state !== SI_ST_CON) return;
  if (si.oc.flags & CF_SHUTW) {
    connFullClose(si.conn);
    si.setState(SI_ST_DIS, "shutr after shutw");
    si.exp = TICK_ETERNITY;
  } else if (si.flags & SI_FL_NOHALF) {
    siShutw(si);
  } else if (si.conn.fd >= 0) {
    fdStopRecv(si.conn.fd);
  }
}

/**
 * HAProxy: si_shutw() = stream_int_shutw_conn(): nothing more will be written to this side. On an
 * established connection this sends a FIN (or an RST with SI_FL_NOLINGER) and, when the side had
 * already stopped reading, closes it.
 */
export function siShutw(si: StreamInterface): void {
  const ic = si.ic;
  const oc = si.oc;
  oc.flags &= ~CF_SHUTW_NOW;
  if (oc.flags & CF_SHUTW) return;
  oc.flags |= CF_SHUTW;
  oc.wex = TICK_ETERNITY;
  si.flags &= ~SI_FL_WAIT_DATA;
  if (tickIsSet(si.hcto)) {
    ic.rto = si.hcto;
    ic.rex = tickAdd(clock.nowMs, ic.rto);
  }
  const st = si.state;
  if (st === SI_ST_EST) {
    if (si.flags & SI_FL_ERR) {
      /* the connection is dead: just close it */
    } else if (si.flags & SI_FL_NOLINGER) {
      connSockShutw(si.conn, false);
    } else {
      connSockShutw(si.conn, true);
      if (!(ic.flags & CF_SHUTR)) return;
    }
  }
  if (st === SI_ST_EST || st === SI_ST_CON) connFullClose(si.conn);
  if (st === SI_ST_EST || st === SI_ST_CON || st === SI_ST_CER || st === SI_ST_QUE || st === SI_ST_TAR) {
    si.setState(SI_ST_DIS, "shutw");
  }
  si.flags &= ~(SI_FL_WAIT_ROOM | SI_FL_NOLINGER);
  ic.flags &= ~CF_SHUTR_NOW;
  ic.flags |= CF_SHUTR;
  ic.rex = TICK_ETERNITY;
  si.exp = TICK_ETERNITY;
}

/** HAProxy: si_chk_rcv() = stream_int_chk_rcv_conn(): room was made in ic, read again. */
export function siChkRcv(si: StreamInterface): void {
  const ic = si.ic;
  if (si.state > SI_ST_EST || (ic.flags & CF_SHUTR)) return;
  const fd = si.conn.fd;
  if (!ic.mayRecv()) {
    si.flags |= SI_FL_WAIT_ROOM;
    if (fd >= 0) fdStopRecv(fd);
  } else {
    si.flags &= ~SI_FL_WAIT_ROOM;
    if (fd >= 0 && si.state === SI_ST_EST) fdWantRecv(fd);
  }
}

/**
 * HAProxy: si_chk_snd() = stream_int_chk_snd_conn(): oc has new data, try to send it now (the fast
 * path: no task wake-up, no poll).
 */
export function siChkSnd(si: StreamInterface): void {
  const oc = si.oc;
  oc.flags &= ~CF_WRITE_PARTIAL;
  if (si.state > SI_ST_EST || (oc.flags & CF_SHUTW)) return;
  if (oc.isEmpty()) return;
  const conn = si.conn;
  if (conn.fd < 0) {
    // HAProxy: stream_int_chk_snd() of an SI with no connection yet: let the task decide.
    if (si.state === SI_ST_EST && (si.flags & SI_FL_WAIT_DATA) && !(si.flags & SI_FL_DONT_WAKE)) {
      taskWakeup(si.task, TASK_WOKEN_IO);
    }
    return;
  }
  if (!(si.flags & SI_FL_WAIT_DATA)) return;
  if (conn.flags & CO_FL_HANDSHAKE) {
    // HAProxy: a handshake is in progress; the data goes once the connection reports it is done.
    si.flags &= ~SI_FL_WAIT_DATA;
    return;
  }
  fdWantSend(conn.fd);
  siConnSend(si);
  if (conn.flags & CO_FL_ERROR) {
    fdStopBoth(conn.fd);
    si.flags |= SI_FL_ERR;
    if (!(si.flags & SI_FL_DONT_WAKE)) taskWakeup(si.task, TASK_WOKEN_IO);
    return;
  }
  const now = clock.nowMs;
  if (oc.isEmpty()) {
    fdStopSend(conn.fd);
    if ((oc.flags & (CF_SHUTW | CF_AUTO_CLOSE | CF_SHUTW_NOW)) === (CF_AUTO_CLOSE | CF_SHUTW_NOW) &&
        si.state === SI_ST_EST) {
      siShutw(si);
      if (!(si.flags & SI_FL_DONT_WAKE)) taskWakeup(si.task, TASK_WOKEN_IO);
      return;
    }
    if ((oc.flags & (CF_SHUTW | CF_SHUTW_NOW)) === 0) si.flags |= SI_FL_WAIT_DATA;
    oc.wex = TICK_ETERNITY;
  } else {
    si.flags &= ~SI_FL_WAIT_DATA;
    if (!tickIsSet(oc.wex)) oc.wex = tickAddIfSet(now, oc.wto);
  }
  if (oc.flags & CF_WRITE_ACTIVITY) {
    if ((oc.flags & (CF_SHUTW | CF_WRITE_PARTIAL)) === CF_WRITE_PARTIAL && !oc.isEmpty()) {
      oc.wex = tickAddIfSet(now, oc.wto);
    }
    if (tickIsSet(si.ic.rex) && !(si.flags & SI_FL_INDEP_STR)) si.ic.rex = tickAddIfSet(now, si.ic.rto);
  }
  if ((oc.flags & (CF_WRITE_NULL | CF_WRITE_ERROR | CF_SHUTW)) ||
      ((oc.flags & CF_WAKE_WRITE) && (oc.isEmpty() || si.state !== SI_ST_EST))) {
    if (!(si.flags & SI_FL_DONT_WAKE)) taskWakeup(si.task, TASK_WOKEN_IO);
  }
}

/**
 * HAProxy: stream_int_update() + stream_int_update_conn(), called by process_stream for an
 * established side: set the read/write timers and the fd's wanted directions from the channels.
 */
export function siUpdate(si: StreamInterface): void {
  const ic = si.ic;
  const oc = si.oc;
  const now = clock.nowMs;
  const fd = si.conn.fd;
  if (!(ic.flags & CF_SHUTR)) {
    if (!ic.mayRecv()) {
      if (!(si.flags & SI_FL_WAIT_ROOM)) {
        si.flags |= SI_FL_WAIT_ROOM;
        ic.rex = TICK_ETERNITY;
      }
      if (fd >= 0) fdStopRecv(fd);
    } else {
      si.flags &= ~SI_FL_WAIT_ROOM;
      if (!(ic.flags & CF_READ_NOEXP) && !tickIsSet(ic.rex)) ic.rex = tickAddIfSet(now, ic.rto);
      if (fd >= 0) fdWantRecv(fd);
    }
  }
  if (!(oc.flags & CF_SHUTW)) {
    if (oc.isEmpty()) {
      if (!(si.flags & SI_FL_WAIT_DATA)) {
        if ((oc.flags & CF_SHUTW_NOW) === 0) si.flags |= SI_FL_WAIT_DATA;
        oc.wex = TICK_ETERNITY;
      }
      if (fd >= 0) fdStopSend(fd);
    } else {
      si.flags &= ~SI_FL_WAIT_DATA;
      if (!tickIsSet(oc.wex)) {
        oc.wex = tickAddIfSet(now, oc.wto);
        if (tickIsSet(ic.rex) && !(si.flags & SI_FL_INDEP_STR)) ic.rex = tickAddIfSet(now, ic.rto);
      }
      if (fd >= 0) fdWantSend(fd);
    }
  }
}

/** HAProxy: si_release_endpoint(): drop the connection (if any) without touching the channels. */
export function siReleaseEndpoint(si: StreamInterface): void {
  connFullClose(si.conn);
}
