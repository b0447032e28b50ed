/**
 * Stick tables: per-key counters shared by the connections that track the key.
 * HAProxy 1.8: src/stick_table.c (stktable_init, stksess_new, stktable_get_entry,
 * stktable_touch_local, stktable_trash_oldest, process_table_expire, the "show table" and
 * "clear table" CLI handlers), src/freq_ctr.c (update/read_freq_ctr_period),
 * include/proto/stream.h (stream_track_stkctr, stream_start_counters, stream_store_counters).
 *
 * Keys: ip (IPv4, stored as an unsigned number), ipv6 (text), integer (number), string (text).
 * Each entry has a reference count (streams tracking it) and an expiry; unreferenced entries past
 * their expiry are removed by the table's task, and the oldest unreferenced ones when the table is
 * full. Peers (replication) are not implemented.
 */
import { clock } from "../core/clock";
import { type Task, taskNew, taskQueue, TASK_WOKEN_TIMER } from "../core/task";
import { TICK_ETERNITY, tickAdd, tickFirst, tickIsExpired } from "../core/ticks";
import type { StickTableConfig } from "../config/types";

/** HAProxy: struct freq_ctr_period: events over a sliding period. */
export class FreqCtrPeriod {
  currTick = 0;
  currCtr = 0;
  prevCtr = 0;

  /** HAProxy: update_freq_ctr_period(). */
  update(period: number, inc: number): void {
    const now = clock.nowMs;
    let t = this.currTick;
    if (((now - t) | 0) >= period) {
      this.prevCtr = this.currCtr;
      this.currCtr = 0;
      t = (t + period) | 0;
      if (((now - t) | 0) >= period) {
        this.prevCtr = 0;
        t = (now - ((now - t) % period)) | 0;
      }
      this.currTick = t;
    }
    this.currCtr += inc;
  }

  /** HAProxy: read_freq_ctr_period(): events in the last <period> ms (the previous period prorated). */
  read(period: number): number {
    const now = clock.nowMs;
    let curr = this.currCtr;
    let prev = this.prevCtr;
    let remain = (this.currTick + period - now) | 0;
    if (remain < 0) {
      if (remain + period < 0) return 0;
      prev = curr;
      curr = 0;
      remain += period;
    }
    return curr + Math.floor((prev * remain) / period);
  }
}

/** One entry. HAProxy: struct stksess with its stored data. */
export class StkEntry {
  refCnt = 0;
  expire = TICK_ETERNITY;
  connCur = 0;
  connCnt = 0;
  readonly connRate = new FreqCtrPeriod();
  sessCnt = 0;
  readonly sessRate = new FreqCtrPeriod();
  bytesInCnt = 0;
  readonly bytesInRate = new FreqCtrPeriod();
  bytesOutCnt = 0;
  readonly bytesOutRate = new FreqCtrPeriod();
  constructor(readonly key: number | string) {}
}

/** HAProxy: struct stktable. */
export class StickTable {
  readonly entries = new Map<number | string, StkEntry>();
  readonly task: Task;
  constructor(readonly cfg: StickTableConfig, readonly proxyName: string) {
    this.task = taskNew(processTableExpire, this);
  }

  /** Whether the table stores counter <name> (conn_cur, conn_rate, ...). */
  stores(name: string): boolean {
    return this.cfg.store[name] !== undefined;
  }
}

/** All tables, by proxy name (the table of a proxy has its name). HAProxy: stktable_find_by_name(). */
export const tables = new Map<string, StickTable>();

/** HAProxy: process_table_expire(): drop unreferenced expired entries; re-arm at the next expiry. */
function processTableExpire(t: Task): Task | null {
  const tbl = t.context as StickTable;
  if (!(t.state & TASK_WOKEN_TIMER) && tickIsExpired(t.expire, clock.nowMs) === false) return t;
  t.expire = tableExpire(tbl);
  if (t.expire !== TICK_ETERNITY) taskQueue(t);
  return t;
}

/** Removes expired unreferenced entries of <tbl>; returns the next expiry (TICK_ETERNITY if none). */
export function tableExpire(tbl: StickTable): number {
  const now = clock.nowMs;
  let next = TICK_ETERNITY;
  for (const [k, e] of tbl.entries) {
    if (e.refCnt === 0 && tickIsExpired(e.expire, now)) tbl.entries.delete(k);
    else next = tickFirst(next, e.expire);
  }
  return next;
}

/** HAProxy: stktable_trash_oldest(): make room by dropping unreferenced entries, oldest first. */
function trashOldest(tbl: StickTable, n: number): void {
  for (const [k, e] of tbl.entries) {
    if (n <= 0) return;
    if (e.refCnt === 0) {
      tbl.entries.delete(k);
      n--;
    }
  }
}

/**
 * HAProxy: stktable_get_entry(): the entry for <key>, created when missing (null when the table is
 * full of referenced entries).
 */
export function stktableGetEntry(tbl: StickTable, key: number | string): StkEntry | null {
  const e = tbl.entries.get(key);
  if (e !== undefined) {
    if (e.refCnt === 0 && tickIsExpired(e.expire, clock.nowMs)) tbl.entries.delete(key);
    else return e;
  }
  if (tbl.entries.size >= tbl.cfg.size) {
    trashOldest(tbl, (tbl.cfg.size >> 8) + 1);
    if (tbl.entries.size >= tbl.cfg.size) return null;
  }
  const ne = new StkEntry(key);
  tbl.entries.set(key, ne);
  return ne;
}

/** HAProxy: stktable_touch_local(): refresh the entry's expiry and the table's task. */
export function stktableTouch(tbl: StickTable, e: StkEntry): void {
  if (!tbl.cfg.expire) return;
  e.expire = tickAdd(clock.nowMs, tbl.cfg.expire);
  const t = tbl.task;
  if (t.expire === TICK_ETERNITY || tickIsExpired(t.expire, clock.nowMs) || ((e.expire - t.expire) | 0) < 0) {
    t.expire = tickFirst(t.expire === TICK_ETERNITY ? e.expire : t.expire, e.expire);
    taskQueue(t);
  }
}

/**
 * HAProxy: stream_track_stkctr() + stream_start_counters(): one more connection tracks <e>
 * (conn_cur, conn_cnt, conn_rate, sess_cnt, sess_rate as stored), the entry is refreshed.
 */
export function stkTrackStart(tbl: StickTable, e: StkEntry): void {
  const st = tbl.cfg.store;
  e.refCnt++;
  if (st.conn_cur !== undefined) e.connCur++;
  if (st.conn_cnt !== undefined) e.connCnt++;
  if (st.conn_rate !== undefined) e.connRate.update(st.conn_rate, 1);
  if (st.sess_cnt !== undefined) e.sessCnt++;
  if (st.sess_rate !== undefined) e.sessRate.update(st.sess_rate, 1);
  stktableTouch(tbl, e);
}

/**
 * HAProxy: stream_process_counters() (bytes) + stream_store_counters() (conn_cur) at the end of a
 * tracking stream. hapoll adds the byte counts once, at the end of the stream.
 */
export function stkTrackStop(tbl: StickTable, e: StkEntry, bytesIn: number, bytesOut: number): void {
  const st = tbl.cfg.store;
  if (st.bytes_in_cnt !== undefined) e.bytesInCnt += bytesIn;
  if (st.bytes_in_rate !== undefined) e.bytesInRate.update(st.bytes_in_rate, bytesIn);
  if (st.bytes_out_cnt !== undefined) e.bytesOutCnt += bytesOut;
  if (st.bytes_out_rate !== undefined) e.bytesOutRate.update(st.bytes_out_rate, bytesOut);
  if (st.conn_cur !== undefined && e.connCur > 0) e.connCur--;
  e.refCnt--;
  stktableTouch(tbl, e);
}

/** Reads stored counter <name> of <e> (-1 when the table does not store it: the fetch fails). */
export function stkRead(tbl: StickTable, e: StkEntry, name: string): number {
  const st = tbl.cfg.store;
  const p = st[name];
  if (p === undefined) return -1;
  switch (name) {
    case "conn_cur": return e.connCur;
    case "conn_cnt": return e.connCnt;
    case "conn_rate": return e.connRate.read(p);
    case "sess_cnt": return e.sessCnt;
    case "sess_rate": return e.sessRate.read(p);
    case "bytes_in_cnt": return e.bytesInCnt;
    case "bytes_in_rate": return e.bytesInRate.read(p);
    case "bytes_out_cnt": return e.bytesOutCnt;
    case "bytes_out_rate": return e.bytesOutRate.read(p);
  }
  return -1;
}

/** The key of <e> as `show table` prints it. */
export function stkKeyString(tbl: StickTable, e: StkEntry): string {
  if (tbl.cfg.type === "ip") {
    const a = e.key as number;
    return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  }
  return String(e.key);
}

/**
 * One `show table <name>` entry line: "0x<id>: key=<k> use=<n> exp=<ms> <counter>=<v> ...".
 * HAProxy: table_dump_entry_to_buffer(); 1.8 prints rates as "conn_rate(10000)=3".
 */
export function stkDumpEntry(tbl: StickTable, e: StkEntry, id: number): string {
  let out = `0x${id.toString(16)}: key=${stkKeyString(tbl, e)} use=${e.refCnt} exp=${e.expire === TICK_ETERNITY ? 0 : Math.max(0, (e.expire - clock.nowMs) | 0)}`;
  for (const name of Object.keys(tbl.cfg.store)) {
    const p = tbl.cfg.store[name];
    out += p ? ` ${name}(${p})=${stkRead(tbl, e, name)}` : ` ${name}=${stkRead(tbl, e, name)}`;
  }
  return out;
}
