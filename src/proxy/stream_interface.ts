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
import { global, MAX_READ_POLL_LOOPS } from "../core/global";
import { type Task, taskWakeup, TASK_WOKEN_IO, taskQueue } from "../core/task";
import { TICK_ETERNITY, tickAdd, tickAddIfSet, tickIsSet, tickFirst } from "../core/ticks";
import {
  Connection, type ConnDataCb, connCondUpdatePolling, connFullClose, csClose, csShutw, csStopBothNoUpdate,
  csStopRecv, csStopRecvNoUpdate, csStopSendNoUpdate, csUpdateMuxPolling, csWantRecvNoUpdate,
  csWantSendNoUpdate, muxPtRcvBuf, muxPtRcvPipe, rawSockFromBuf, rawSockFromPipe, CO_FL_CONNECTED,
  CO_FL_CTRL_READY, CO_FL_ERROR, CO_FL_HANDSHAKE, CO_FL_SOCK_RD_SH, CO_FL_SOCK_WR_SH, CO_FL_WAIT_ROOM,
  CO_FL_WAIT_ROOM_AGAIN, CO_SFL_MSG_MORE, CO_SFL_STREAMER, CS_FL_DATA_WR_ENA, CS_FL_EOS, CS_FL_ERROR,
  CS_FL_SHWN, CS_FL_SHWS,
} from "../net/connection";
import {
  type Channel, CF_AUTO_CLOSE, CF_READ_ERROR, CF_READ_NOEXP, CF_READ_NULL, CF_READ_PARTIAL, CF_SHUTR,
  CF_SHUTR_NOW, CF_SHUTW, CF_SHUTW_NOW, CF_WAKE_WRITE, CF_WRITE_ACTIVITY, CF_WRITE_ERROR, CF_WRITE_EVENT,
  CF_WRITE_NULL, CF_WRITE_PARTIAL, CF_WROTE_DATA, CF_KERN_SPLICING, CF_STREAMER,
  CF_STREAMER_FAST, CF_READ_DONTWAIT, CF_DONT_READ, CF_NEVER_WAIT, CF_SEND_DONTWAIT, CF_EXPECT_MORE,
  CF_ISRESP, CF_READ_ACTIVITY, CHN_INFINITE_FORWARD, pipesInUse,
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

  /* ---- ConnDataCb (HAProxy: si_conn_cb): called by conn_fd_handler() through the mux ---- */

  /** HAProxy: si_cs_recv_cb(). */
  recv(conn: Connection): void {
    siCsRecvCb(this, conn);
  }

  /** HAProxy: si_cs_send_cb(). */
  send(conn: Connection): void {
    if ((conn.flags & (CO_FL_ERROR | CO_FL_HANDSHAKE)) || (conn.csFlags & CS_FL_ERROR)) return;
    // Called just after an asynchronous shutw?
    if (this.oc.flags & CF_SHUTW) return;
    siCsSend(this, conn);
  }

  /**
   * HAProxy: si_cs_wake_cb(). After I/O: report errors and the connection's establishment to the
   * stream interface, let stream_int_notify() forward and wake the task if needed, then say what
   * this side wants next (the caller commits it to the fd).
   */
  wake(conn: Connection): number {
    const ic = this.ic;
    const oc = this.oc;
    if ((conn.flags & CO_FL_ERROR) || (conn.csFlags & CS_FL_ERROR)) this.flags |= SI_FL_ERR;
    if (this.state < SI_ST_EST && (conn.flags & (CO_FL_CONNECTED | CO_FL_HANDSHAKE)) === CO_FL_CONNECTED) {
      this.exp = TICK_ETERNITY;
      oc.flags |= CF_WRITE_NULL;
    }
    streamIntNotify(this);
    ic.releaseIfEmpty();
    if (oc.isEmpty()) csStopSendNoUpdate(conn);
    if (this.flags & SI_FL_WAIT_ROOM) {
      csStopRecvNoUpdate(conn);
    } else if ((ic.flags & (CF_SHUTR | CF_READ_PARTIAL | CF_DONT_READ)) === CF_READ_PARTIAL && ic.mayRecv()) {
      csWantRecvNoUpdate(conn);
    }
    return 0;
  }
}

/**
 * HAProxy: si_cs_recv_cb(). Read what the socket has: into the kernel pipe when splicing, else into
 * the buffer, at most MAX_READ_POLL_LOOPS recv() calls, stopping early on a full buffer, on a short
 * read by a streamer, or on a short read of at least tune.recv_enough bytes. Data read while the
 * channel forwards goes straight to output. EOF becomes a read shutdown.
 */
function siCsRecvCb(si: StreamInterface, conn: Connection): void {
  const ic = si.ic;
  let readPoll = MAX_READ_POLL_LOOPS;
  if ((conn.flags & CO_FL_ERROR) || (conn.csFlags & CS_FL_ERROR)) return;
  // Maybe called right after an asynchronous shutr.
  if (ic.flags & CF_SHUTR) return;
  if (conn.csFlags & CS_FL_EOS) return outShutdownR(si, ic);
  let curRead = 0;

  if ((ic.flags & CF_KERN_SPLICING) && (ic.pipeR >= 0 || ic.toForward !== 0)) {
    spliceIn: {
      // Data already in the buffer must go first: never hold the stream in two places.
      if (ic.bufNotEmpty()) break spliceIn;
      if (ic.pipeR < 0 && (pipesInUse() >= global.maxpipes || !ic.getPipe())) {
        ic.flags &= ~CF_KERN_SPLICING;
        break spliceIn;
      }
      const ret = muxPtRcvPipe(conn, ic);
      if (ret < 0) {
        // splice() does not work on this fd: never try again for this channel.
        ic.flags &= ~CF_KERN_SPLICING;
        break spliceIn;
      }
      if (ret > 0) {
        ic.total += ret;
        curRead += ret;
        ic.flags |= CF_READ_PARTIAL;
      }
      if (conn.csFlags & CS_FL_EOS) return outShutdownR(si, ic);
      if ((conn.flags & CO_FL_ERROR) || (conn.csFlags & CS_FL_ERROR)) return;
      if (conn.flags & CO_FL_WAIT_ROOM) {
        // The pipe is full, or soon will be: stop before having to poll.
        si.flags |= SI_FL_WAIT_ROOM;
        csStopRecvNoUpdate(conn);
      }
    }
  }
  // abort_splice:
  if (ic.pipeR >= 0 && ic.pipeData === 0) ic.putPipe();
  if (ic.pipeData !== 0) {
    // hapoll keeps spliced and buffered data apart: buffering waits until the pipe is drained.
    si.flags |= SI_FL_WAIT_ROOM;
  } else {
    ic.allocBuffer();
    while (!(conn.flags & (CO_FL_ERROR | CO_FL_SOCK_RD_SH | CO_FL_WAIT_ROOM | CO_FL_HANDSHAKE)) &&
           !(conn.csFlags & CS_FL_ERROR) && !(ic.flags & CF_SHUTR)) {
      const max = ic.recvMax();
      if (max === 0) {
        si.flags |= SI_FL_WAIT_ROOM;
        break;
      }
      const ret = muxPtRcvBuf(conn, ic, max);
      if (ret <= 0) break;
      curRead += ret;
      // Forwarding already decided: the bytes are output at once.
      if (ic.toForward !== 0 && !(ic.flags & (CF_SHUTW | CF_SHUTW_NOW))) {
        let fwd = ret;
        if (ic.toForward !== CHN_INFINITE_FORWARD) {
          if (fwd > ic.toForward) fwd = ic.toForward;
          ic.toForward -= fwd;
        }
        ic.bAdv(fwd);
      }
      ic.flags |= CF_READ_PARTIAL;
      ic.total += ret;
      if (!ic.mayRecv()) {
        si.flags |= SI_FL_WAIT_ROOM;
        conn.flags |= CO_FL_WAIT_ROOM_AGAIN;
        break;
      }
      if ((ic.flags & CF_READ_DONTWAIT) || --readPoll <= 0) {
        csStopRecvNoUpdate(conn);
        si.flags |= SI_FL_WAIT_ROOM;
        break;
      }
      // A short read: the system has no more in its buffers.
      if (ret < max) {
        if (ic.flags & CF_STREAMER) break;
        if (ret >= global.recvEnough) break;
      }
    }
    if (curRead) streamerDetect(ic, curRead);
  }
  // end_recv:
  if ((conn.flags & CO_FL_ERROR) || (conn.csFlags & CS_FL_ERROR)) return;
  if (conn.csFlags & CS_FL_EOS) outShutdownR(si, ic);
}

/** si_cs_recv_cb()'s out_shutdown_r: the peer closed its side. */
function outShutdownR(si: StreamInterface, ic: Channel): void {
  ic.flags |= CF_READ_NULL;
  if (ic.flags & CF_AUTO_CLOSE) ic.shutwNow();
  streamSockRead0(si);
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
  } else if (!(ic.flags & CF_STREAMER_FAST) && curRead >= size - global.maxrewrite) {
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
  ic.lastRead = clock.nowMs;
}

/**
 * HAProxy: si_cs_send(). Send oc's data: the pipe first, then the buffer, with MSG_MORE when more
 * is known to follow (a close right after, on the response side). Flags the write activity.
 */
function siCsSend(si: StreamInterface, conn: Connection): void {
  const oc = si.oc;
  oc.flags &= ~CF_WRITE_PARTIAL;
  if (oc.pipeData !== 0) {
    const n = rawSockFromPipe(conn, oc);
    if (n > 0) oc.flags |= CF_WRITE_PARTIAL | CF_WROTE_DATA | CF_WRITE_EVENT;
    if (oc.pipeData === 0) oc.putPipe();
    if ((conn.flags & CO_FL_ERROR) || (conn.csFlags & CS_FL_ERROR)) return;
  }
  if (oc.o === 0) return;
  if ((conn.flags & (CO_FL_ERROR | CO_FL_SOCK_WR_SH | CO_FL_HANDSHAKE)) || (conn.csFlags & CS_FL_ERROR) ||
      (oc.flags & CF_SHUTW)) {
    return;
  }
  let sendFlag = 0;
  if ((!(oc.flags & (CF_NEVER_WAIT | CF_SEND_DONTWAIT)) &&
       ((oc.toForward !== 0 && oc.toForward !== CHN_INFINITE_FORWARD) || (oc.flags & CF_EXPECT_MORE))) ||
      ((oc.flags & CF_ISRESP) && (oc.flags & (CF_AUTO_CLOSE | CF_SHUTW_NOW)) === (CF_AUTO_CLOSE | CF_SHUTW_NOW))) {
    sendFlag |= CO_SFL_MSG_MORE;
  }
  if (oc.flags & CF_STREAMER) sendFlag |= CO_SFL_STREAMER;
  const ret = rawSockFromBuf(conn, oc, sendFlag);
  if (ret > 0) {
    oc.flags |= CF_WRITE_PARTIAL | CF_WROTE_DATA | CF_WRITE_EVENT;
    // One-shot hints go once everything is out.
    if (oc.o === 0) oc.flags &= ~(CF_EXPECT_MORE | CF_SEND_DONTWAIT);
  }
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
    if ((oc.flags & (CF_SHUTW | CF_SHUTW_NOW)) === CF_SHUTW_NOW && si.state === SI_ST_EST &&
        !(si.conn.flags & CO_FL_HANDSHAKE)) {
      siShutw(si);
    }
    oc.wex = TICK_ETERNITY;
  }
  if ((oc.flags & (CF_SHUTW | CF_SHUTW_NOW)) === 0 && oc.mayRecv()) si.flags |= SI_FL_WAIT_DATA;
  else if ((oc.flags & (CF_SHUTW | CF_SHUTW_NOW)) === CF_SHUTW_NOW) si.flags &= ~SI_FL_WAIT_DATA;

  if (oc.flags & CF_WRITE_ACTIVITY) {
    if ((oc.flags & (CF_SHUTW | CF_WRITE_PARTIAL)) === CF_WRITE_PARTIAL && !oc.isEmpty()) {
      if (tickIsSet(oc.wex)) oc.wex = tickAddIfSet(now, oc.wto);
    }
    if (!(si.flags & SI_FL_INDEP_STR) && tickIsSet(ic.rex)) ic.rex = tickAddIfSet(now, ic.rto);
    if ((oc.flags & (CF_SHUTW | CF_WRITE_PARTIAL | CF_DONT_READ)) === CF_WRITE_PARTIAL && oc.mayRecv() &&
        (other.flags & SI_FL_WAIT_ROOM)) {
      siChkRcv(other);
    }
  }
  ic.flags &= ~CF_WRITE_PARTIAL;

  if (!ic.isEmpty() && (other.flags & SI_FL_WAIT_DATA) && (ic.i === 0 || ic.pipeR >= 0)) {
    const lastLen = ic.o + ic.pipeData;
    siChkSnd(other);
    if (ic.mayRecv() && ic.o + ic.pipeData < lastLen) si.flags &= ~SI_FL_WAIT_ROOM;
  }

  if (si.flags & SI_FL_WAIT_ROOM) {
    ic.rex = TICK_ETERNITY;
  } else if ((ic.flags & (CF_SHUTR | CF_READ_PARTIAL | CF_DONT_READ)) === CF_READ_PARTIAL && ic.mayRecv()) {
    if (!(ic.flags & CF_READ_NOEXP) && tickIsSet(ic.rex)) ic.rex = tickAddIfSet(now, ic.rto);
  }

  if ((ic.flags & (CF_READ_NULL | CF_READ_ERROR)) ||
      si.state !== SI_ST_EST ||
      (si.flags & SI_FL_ERR) ||
      ((ic.flags & CF_READ_PARTIAL) && (ic.toForward === 0 || other.state !== SI_ST_EST)) ||
      (oc.flags & (CF_WRITE_NULL | CF_WRITE_ERROR)) ||
      ((oc.flags & (CF_WRITE_ACTIVITY | CF_WRITE_EVENT)) &&
       ((oc.flags & CF_SHUTW) ||
        ((oc.flags & CF_WAKE_WRITE) && (other.state !== SI_ST_EST || (oc.isEmpty() && oc.toForward === 0)))))) {
    taskWakeup(si.task, TASK_WOKEN_IO);
  } else if (!(si.task.state & 1 /* TASK_RUNNING */) && si.task.rq.idx === -1) {
    // hapoll: the task is not woken, but the channel timers moved; keep its expiry in step.
    // task_queue() is lazy, so this costs nothing unless the expiry moved earlier.
    streamUpdateExpire(si.task);
  }
  if (ic.flags & CF_READ_ACTIVITY) ic.flags &= ~CF_READ_DONTWAIT;
}

/**
 * What a stream interface knows of its stream to keep the stream task's expiry in step: the two
 * channels, both interfaces and the analysers' expiry. The Stream of stream.ts (the task's context)
 * is the one implementation.
 */
export interface StreamTimers {
  readonly req: Channel;
  readonly res: Channel;
  readonly si: readonly StreamInterface[];
  reqAn: number;
  reqAnExp: number;
  resAn: number;
  resAnExp: number;
}

/** The first expiry among <base> and <s>'s channels, interfaces and pending analysers (the tail of process_stream). */
export function streamTimersExpire(s: StreamTimers, base: number): number {
  let exp = tickFirst(base, tickFirst(tickFirst(s.req.rex, s.req.wex), tickFirst(s.res.rex, s.res.wex)));
  if (s.si[0].exp) exp = tickFirst(exp, s.si[0].exp);
  if (s.si[1].exp) exp = tickFirst(exp, s.si[1].exp);
  if (s.reqAn !== 0) exp = tickFirst(exp, s.reqAnExp);
  if (s.resAn !== 0) exp = tickFirst(exp, s.resAnExp);
  return exp;
}

/**
 * Requeue a stream task that was not woken but whose channel timers moved (HAProxy: the tail of
 * stream_int_notify()). Recomputed from the timers only: the old expiry may be stale after a
 * fast-path renewal.
 */
function streamUpdateExpire(t: Task): void {
  t.expire = streamTimersExpire(t.context as StreamTimers, TICK_ETERNITY);
  taskQueue(t);
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
  if (oc.flags & CF_SHUTW) return doClose(si);
  if (si.flags & SI_FL_NOHALF) {
    // Forward the close to the write side at once.
    csShutw(si.conn, CS_FL_SHWS);
    return doClose(si);
  }
  csStopRecvNoUpdate(si.conn);
}

/** stream_sock_read0()'s do_close: close the socket as si_shut[rw]() would. */
function doClose(si: StreamInterface): void {
  const oc = si.oc;
  csClose(si.conn);
  oc.flags &= ~CF_SHUTW_NOW;
  oc.flags |= CF_SHUTW;
  oc.wex = TICK_ETERNITY;
  si.flags &= ~(SI_FL_WAIT_DATA | SI_FL_WAIT_ROOM);
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
    csClose(si.conn);
    si.setState(SI_ST_DIS, "shutr after shutw");
    si.exp = TICK_ETERNITY;
  } else if (si.flags & SI_FL_NOHALF) {
    siShutw(si);
  } else if (si.conn.flags & CO_FL_CTRL_READY) {
    csStopRecv(si.conn);
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
      csShutw(si.conn, CS_FL_SHWS);
    } else {
      csShutw(si.conn, CS_FL_SHWN);
      if (!(ic.flags & (CF_SHUTR | CF_DONT_READ))) {
        // Only a shutw: the caller's polling update follows.
        connCondUpdatePolling(si.conn);
        return;
      }
    }
  }
  if (st === SI_ST_EST || st === SI_ST_CON) csClose(si.conn);
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
  const conn = si.conn;
  if ((ic.flags & CF_DONT_READ) || !ic.mayRecv()) {
    if (!(ic.flags & CF_DONT_READ)) si.flags |= SI_FL_WAIT_ROOM;
    csStopRecvNoUpdate(conn);
  } else {
    si.flags &= ~SI_FL_WAIT_ROOM;
    csWantRecvNoUpdate(conn);
  }
  csUpdateMuxPolling(conn);
}

/**
 * HAProxy: si_chk_snd() = stream_int_chk_snd_conn(): oc has new data, try to send it now (the fast
 * path: no task wake-up, no poll), unless this side already waits for the fd to be writable.
 */
export function siChkSnd(si: StreamInterface): void {
  const oc = si.oc;
  oc.flags &= ~CF_WRITE_PARTIAL;
  if (si.state > SI_ST_EST || (oc.flags & CF_SHUTW)) return;
  if (oc.isEmpty()) return;
  const conn = si.conn;
  if (!(conn.flags & CO_FL_CTRL_READY)) {
    // HAProxy: no connection yet (stream_int_chk_snd() of an SI without one): the task decides.
    if (si.state === SI_ST_EST && (si.flags & SI_FL_WAIT_DATA) && !(si.flags & SI_FL_DONT_WAKE)) {
      taskWakeup(si.task, TASK_WOKEN_IO);
    }
    return;
  }
  if (oc.pipeData === 0 && !(si.flags & SI_FL_WAIT_DATA)) return;
  // Already subscribed to write events: the send will come from there.
  if (conn.csFlags & CS_FL_DATA_WR_ENA) return;
  csWantSendNoUpdate(conn);
  siCsSend(si, conn);
  if ((conn.csFlags & CS_FL_ERROR) || (conn.flags & CO_FL_ERROR)) {
    csStopBothNoUpdate(conn);
    si.flags |= SI_FL_ERR;
    if (!(si.flags & SI_FL_DONT_WAKE)) taskWakeup(si.task, TASK_WOKEN_IO);
    csUpdateMuxPolling(conn);
    return;
  }
  const now = clock.nowMs;
  if (oc.isEmpty()) {
    csStopSendNoUpdate(conn);
    if ((oc.flags & (CF_SHUTW | CF_AUTO_CLOSE | CF_SHUTW_NOW)) === (CF_AUTO_CLOSE | CF_SHUTW_NOW) &&
        si.state === SI_ST_EST) {
      siShutw(si);
      if (!(si.flags & SI_FL_DONT_WAKE)) taskWakeup(si.task, TASK_WOKEN_IO);
      csUpdateMuxPolling(conn);
      return;
    }
    if ((oc.flags & (CF_SHUTW | CF_SHUTW_NOW)) === 0) si.flags |= SI_FL_WAIT_DATA;
    oc.wex = TICK_ETERNITY;
  } else {
    csWantSendNoUpdate(conn);
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
      ((oc.flags & CF_WAKE_WRITE) && ((oc.isEmpty() && oc.toForward === 0) || si.state !== SI_ST_EST))) {
    if (!(si.flags & SI_FL_DONT_WAKE)) taskWakeup(si.task, TASK_WOKEN_IO);
  }
  csUpdateMuxPolling(conn);
}

/**
 * HAProxy: stream_int_update(), called by process_stream for an established side: set the
 * read/write timers and the WAIT_ROOM/WAIT_DATA flags from the channels.
 */
export function streamIntUpdate(si: StreamInterface): void {
  const ic = si.ic;
  const oc = si.oc;
  const now = clock.nowMs;
  if (!(ic.flags & CF_SHUTR)) {
    if ((ic.flags & CF_DONT_READ) || !ic.mayRecv()) {
      if (!(si.flags & SI_FL_WAIT_ROOM)) {
        if (!(ic.flags & CF_DONT_READ)) si.flags |= SI_FL_WAIT_ROOM;
        ic.rex = TICK_ETERNITY;
      }
    } else {
      si.flags &= ~SI_FL_WAIT_ROOM;
      if (!(ic.flags & (CF_READ_NOEXP | CF_DONT_READ)) && !tickIsSet(ic.rex)) ic.rex = tickAddIfSet(now, ic.rto);
    }
  }
  if (!(oc.flags & CF_SHUTW)) {
    if (oc.isEmpty()) {
      if (!(si.flags & SI_FL_WAIT_DATA)) {
        if ((oc.flags & CF_SHUTW_NOW) === 0) si.flags |= SI_FL_WAIT_DATA;
        oc.wex = TICK_ETERNITY;
      }
    } else {
      si.flags &= ~SI_FL_WAIT_DATA;
      if (!tickIsSet(oc.wex)) {
        oc.wex = tickAddIfSet(now, oc.wto);
        if (tickIsSet(ic.rex) && !(si.flags & SI_FL_INDEP_STR)) ic.rex = tickAddIfSet(now, ic.rto);
      }
    }
  }
}

/**
 * HAProxy: stream_int_update_conn(): from the channels, what the connection should poll for; then
 * commit it.
 */
export function streamIntUpdateConn(si: StreamInterface): void {
  const ic = si.ic;
  const oc = si.oc;
  const conn = si.conn;
  if (!(ic.flags & CF_SHUTR)) {
    if ((ic.flags & CF_DONT_READ) || !ic.mayRecv()) csStopRecvNoUpdate(conn);
    else csWantRecvNoUpdate(conn);
  }
  if (!(oc.flags & CF_SHUTW)) {
    if (oc.isEmpty()) csStopSendNoUpdate(conn);
    else csWantSendNoUpdate(conn);
  }
  csUpdateMuxPolling(conn);
}

/** HAProxy: si_update(): stream_int_update() then the connection's polling update. */
export function siUpdate(si: StreamInterface): void {
  streamIntUpdate(si);
  streamIntUpdateConn(si);
}

/** HAProxy: si_release_endpoint(): drop the connection (if any) without touching the channels. */
export function siReleaseEndpoint(si: StreamInterface): void {
  connFullClose(si.conn);
  si.conn.csFlags = 0;
}
