/**
 * Sample fetches, converters and ACL evaluation at run time. HAProxy 1.8: src/sample.c
 * (sample_process, the converters), src/payload.c (req.len, req.payload, req.payload_lv,
 * req.ssl_hello_type, req.ssl_sni, req.ssl_ver, req.rdp_cookie, wait_end), src/proto_tcp.c (src,
 * src_port, dst, dst_port), src/backend.c (nbsrv, srv_is_up, connslots, be_conn), src/frontend.c
 * (fe_conn), src/stick_table.c (sc0_*, src_*), src/acl.c (acl_exec_cond).
 *
 * The configuration layer (src/config/acl.ts) describes the keywords; bindCond() attaches each
 * sample expression to its implementation once, when the proxies are built. Evaluation fills one
 * reused Sample and one reused context: a rule that reads integers, addresses or exact strings
 * allocates nothing.
 */
import { native } from "../native";
import { clock } from "../core/clock";
import { type Connection, connGetToAddr } from "../net/connection";
import { CF_SHUTR, type Channel } from "./channel";
import type { AclCond, SampleExpr } from "../config/acl";
import {
  newSample, patternMatch, sampleToString, type Sample, SMP_F_MAY_CHANGE, SMP_T_BIN, SMP_T_BOOL, SMP_T_IPV4,
  SMP_T_IPV6, SMP_T_SINT, SMP_T_STR,
} from "../config/pattern";
import type { Proxy } from "./proxy";
import { type Server, SRV_ADMF_MAINT, SRV_ST_STOPPED } from "./server";
import { type StickTable, type StkEntry, stkRead, tables } from "./stick_table";

/** A tracked entry of a stick counter (sc0..sc2). HAProxy: struct stkctr. */
export interface StkCtr {
  tbl: StickTable;
  e: StkEntry;
}

/** HAProxy: SMP_OPT_FINAL: no more data will come (or the delay is over). */
export const SMP_OPT_FINAL = 1;

/**
 * The evaluation context (HAProxy passes px, sess, strm, opt): reused for every evaluation.
 * <chn> is the channel a payload fetch reads (the request, or the response for tcp-response).
 */
export class SmpCtx {
  px: Proxy | null = null;
  fe: Proxy | null = null;
  be: Proxy | null = null;
  addr: Buffer | null = null;
  addrLen = 0;
  /** The client connection when a stream exists; <fd> otherwise (connection rules). */
  conn: Connection | null = null;
  fd = -1;
  chn: Channel | null = null;
  opt = 0;
  /** Stick counters tracked so far (session then stream). */
  stk: (StkCtr | null)[] | null = null;
}

/** The shared context and sample. */
export const ctx = new SmpCtx();
const smp: Sample = newSample();

/** Runtime binding of a sample expression. */
interface SmpRt {
  fn: (c: SmpCtx, e: SampleExpr, rt: SmpRt, s: Sample) => boolean;
  px: Proxy | null;
  srv: Server | null;
  tbl: StickTable | null;
}

/* --------------------------------------------------------------------- */
/* Addresses                                                              */
/* --------------------------------------------------------------------- */

const LINUX = process.platform === "linux";
/** sockaddr family: 2 = AF_INET, 10/28/30 = AF_INET6 (Linux/BSD/macOS), from the raw bytes. */
function saFamily(b: Buffer): number {
  const f = LINUX ? b[0] | (b[1] << 8) : b[1];
  if (f === 2) return 4;
  if (f === 10 || f === 28 || f === 30 || f === 24) return 6;
  return 0;
}

function fillAddr(b: Buffer | null, len: number, s: Sample, wantPort: boolean): boolean {
  if (b === null || len < 8) return false;
  const fam = saFamily(b);
  if (fam === 0) return false;
  if (wantPort) {
    s.type = SMP_T_SINT;
    s.int = (b[2] << 8) | b[3];
    return true;
  }
  if (fam === 4) {
    s.type = SMP_T_IPV4;
    s.int = ((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7]) >>> 0;
  } else {
    s.type = SMP_T_IPV6;
    s.bin = b;
    s.off = 8;
    s.len = 16;
  }
  return true;
}

const toScratch = Buffer.alloc(128);

function dstAddr(c: SmpCtx): [Buffer | null, number] {
  if (c.conn !== null) {
    connGetToAddr(c.conn);
    return [c.conn.toAddr, c.conn.toAddrLen];
  }
  if (c.fd < 0) return [null, 0];
  const len = native.getsockname(c.fd, toScratch);
  return len > 0 ? [toScratch, len] : [null, 0];
}

/* --------------------------------------------------------------------- */
/* Payload                                                                */
/* --------------------------------------------------------------------- */

let scratch = Buffer.alloc(16384);

/**
 * Makes input bytes [<off>, <off>+<len>) of <chn> contiguous: a view into the ring when they do
 * not wrap, a copy in a scratch buffer otherwise. Returns [buffer, start].
 */
function chnInput(chn: Channel, off: number, len: number, s: Sample): void {
  const buf = chn.buf!;
  const size = buf.length;
  let start = chn.p + off;
  if (start >= size) start -= size;
  if (start + len <= size) {
    s.bin = buf;
    s.off = start;
  } else {
    if (scratch.length < len) scratch = Buffer.alloc(len);
    const first = size - start;
    buf.copy(scratch, 0, start, size);
    buf.copy(scratch, first, 0, len - first);
    s.bin = scratch;
    s.off = 0;
  }
  s.len = len;
}

function byteAt(chn: Channel, off: number): number {
  const buf = chn.buf!;
  let at = chn.p + off;
  if (at >= buf.length) at -= buf.length;
  return buf[at];
}

function mayChange(c: SmpCtx, s: Sample): boolean {
  if (!(c.opt & SMP_OPT_FINAL)) s.flags |= SMP_F_MAY_CHANGE;
  return false;
}

function fetchPayload(c: SmpCtx, e: SampleExpr, _rt: SmpRt, s: Sample): boolean {
  const chn = c.chn;
  if (chn === null) return false;
  const off = e.args[0] as number;
  let len = e.args[1] as number;
  const avail = chn.buf === null ? 0 : chn.i;
  const whole = len === 0;
  if (whole) {
    // HAProxy: a zero length takes everything from <off> on.
    if (avail <= off) return mayChange(c, s);
    len = avail - off;
  }
  if (off + len > (chn.buf?.length ?? 16384)) return false;
  if (off + len > avail) return mayChange(c, s);
  chnInput(chn, off, len, s);
  s.type = SMP_T_BIN;
  // HAProxy: smp_fetch_payload(): bytes that are all there do not change; "the rest" may grow.
  if (whole && !(chn.flags & CF_SHUTR) && !(c.opt & SMP_OPT_FINAL)) s.flags |= SMP_F_MAY_CHANGE;
  return true;
}

function fetchPayloadLv(c: SmpCtx, e: SampleExpr, _rt: SmpRt, s: Sample): boolean {
  const chn = c.chn;
  if (chn === null) return false;
  const lOff = e.args[0] as number;
  const lLen = e.args[1] as number;
  const avail = chn.buf === null ? 0 : chn.i;
  if (lLen < 1 || lLen > 4) return false;
  if (lOff + lLen > avail) return mayChange(c, s);
  let len = 0;
  for (let i = 0; i < lLen; i++) len = len * 256 + byteAt(chn, lOff + i);
  let off = lOff + lLen;
  if (e.args.length > 2) {
    const d = String(e.args[2]);
    off = d[0] === "+" || d[0] === "-" ? off + Number(d) : Number(d);
    if (!Number.isFinite(off) || off < 0) return false;
  }
  if (off + len > (chn.buf?.length ?? 16384)) return false;
  if (off + len > avail) return mayChange(c, s);
  chnInput(chn, off, len, s);
  s.type = SMP_T_BIN;
  return true;
}

function fetchReqLen(c: SmpCtx, _e: SampleExpr, _rt: SmpRt, s: Sample): boolean {
  if (c.chn === null) return false;
  s.type = SMP_T_SINT;
  s.int = c.chn.buf === null ? 0 : c.chn.i;
  // HAProxy: smp_fetch_len(): always SMP_F_MAY_CHANGE (a failed match waits for more data).
  s.flags |= SMP_F_MAY_CHANGE;
  return true;
}

function fetchWaitEnd(c: SmpCtx, _e: SampleExpr, _rt: SmpRt, s: Sample): boolean {
  if (!(c.opt & SMP_OPT_FINAL)) {
    s.flags |= SMP_F_MAY_CHANGE;
    return false;
  }
  s.type = SMP_T_BOOL;
  s.int = 1;
  return true;
}

/** HAProxy: smp_fetch_ssl_hello_type(): the handshake type of a complete SSLv3+ handshake message. */
function fetchSslHelloType(c: SmpCtx, _e: SampleExpr, _rt: SmpRt, s: Sample): boolean {
  const chn = c.chn;
  if (chn === null) return false;
  const n = chn.buf === null ? 0 : chn.i;
  if (n === 0) return mayChange(c, s);
  const b0 = byteAt(chn, 0);
  if (!((b0 >= 0x14 && b0 <= 0x17) || b0 === 0xff)) return false;
  if (n < 9) return mayChange(c, s);
  if (((byteAt(chn, 1) << 16) | byteAt(chn, 2)) < 0x30000) return false;
  if (((byteAt(chn, 3) << 8) | byteAt(chn, 4)) < 4) return false;
  const type = byteAt(chn, 5);
  const hsLen = (byteAt(chn, 6) << 16) | (byteAt(chn, 7) << 8) | byteAt(chn, 8);
  if (n < 9 + hsLen) return mayChange(c, s);
  s.type = SMP_T_SINT;
  s.int = type;
  return true;
}

/** HAProxy: smp_fetch_req_ssl_ver() (the SSLv3+ record form; SSLv2 hellos are not recognised). */
function fetchSslVer(c: SmpCtx, _e: SampleExpr, _rt: SmpRt, s: Sample): boolean {
  const chn = c.chn;
  if (chn === null) return false;
  const n = chn.buf === null ? 0 : chn.i;
  if (n === 0) return mayChange(c, s);
  const b0 = byteAt(chn, 0);
  if (!((b0 >= 0x14 && b0 <= 0x17) || b0 === 0xff)) return false;
  if (n < 5) return mayChange(c, s);
  const version = (byteAt(chn, 1) << 16) | byteAt(chn, 2);
  const msgLen = (byteAt(chn, 3) << 8) | byteAt(chn, 4);
  if (version < 0x30000 || msgLen < 1 || msgLen > 16384 + 2048) return false;
  s.type = SMP_T_SINT;
  s.int = version;
  return true;
}

/**
 * HAProxy: smp_fetch_ssl_hello_sni(): the host_name of the server_name extension of a ClientHello
 * held in one TLS record.
 */
function fetchSslSni(c: SmpCtx, _e: SampleExpr, _rt: SmpRt, s: Sample): boolean {
  const chn = c.chn;
  if (chn === null) return false;
  const n = chn.buf === null ? 0 : chn.i;
  if (n === 0) return mayChange(c, s);
  if (byteAt(chn, 0) !== 0x16) return false;
  if (n < 3) return mayChange(c, s);
  if (byteAt(chn, 1) < 0x03) return false;
  if (n < 5) return mayChange(c, s);
  const recLen = (byteAt(chn, 3) << 8) | byteAt(chn, 4);
  if (recLen < 1 + 3 + 2 + 32 + 1 + 2 + 2 + 1 + 1 + 2 + 2) return false;
  if (n - 5 < recLen) {
    if (5 + recLen > (chn.buf?.length ?? 16384)) return false;
    return mayChange(c, s);
  }
  chnInput(chn, 5, recLen, smpTmp);
  const d = smpTmp.bin!;
  let p = smpTmp.off;
  const end = p + recLen;
  if (d[p] !== 0x01) return false;
  const hsLen = (d[p + 1] << 16) | (d[p + 2] << 8) | d[p + 3];
  if (hsLen > recLen - 4) return false;
  p += 4 + 2 + 32;
  if (p >= end) return false;
  p += 1 + d[p];
  if (p + 2 > end) return false;
  p += 2 + ((d[p] << 8) | d[p + 1]);
  if (p + 1 > end) return false;
  p += 1 + d[p];
  if (p + 2 > end) return false;
  let extLen = (d[p] << 8) | d[p + 1];
  p += 2;
  if (p + extLen > end) extLen = end - p;
  const extEnd = p + extLen;
  while (p + 4 <= extEnd) {
    const type = (d[p] << 8) | d[p + 1];
    const len = (d[p + 2] << 8) | d[p + 3];
    p += 4;
    if (p + len > extEnd) return false;
    if (type === 0) {
      // server_name: list length, then entries of (type, length, name); the first host_name wins.
      if (len < 5) return false;
      if (d[p + 2] !== 0) return false;
      const nameLen = (d[p + 3] << 8) | d[p + 4];
      if (5 + nameLen > len) return false;
      s.type = SMP_T_STR;
      s.str = latin1.decode(d.subarray(p + 5, p + 5 + nameLen));
      return true;
    }
    p += len;
  }
  return false;
}
const smpTmp: Sample = newSample();
const latin1 = new TextDecoder("latin1");
void recLenUnused;
function recLenUnused(): void {}

/** HAProxy: fetch_rdp_cookie_name(): "Cookie: <name>=<value>\r\n" after the 11-byte X.224 header. */
function rdpCookie(c: SmpCtx, e: SampleExpr, s: Sample, count: boolean): boolean {
  const chn = c.chn;
  if (chn === null) return false;
  const n = chn.buf === null ? 0 : chn.i;
  if (n < 11) return mayChange(c, s);
  chnInput(chn, 0, n, smpTmp);
  const text = latin1.decode(smpTmp.bin!.subarray(smpTmp.off + 11, smpTmp.off + n));
  const want = e.args.length ? String(e.args[0]).toLowerCase() : null;
  const m = /^Cookie:\s*([^=\r\n]*)=([^\r\n]*)\r\n/i.exec(text);
  if (!m) {
    if (!/^Cookie:/i.test(text) && text.length >= 7) return countResult(count, s, 0);
    if (text.length >= 7 && text.includes("\r\n")) return countResult(count, s, 0);
    return mayChange(c, s);
  }
  if (want !== null && m[1].toLowerCase() !== want) return countResult(count, s, 0);
  if (count) return countResult(true, s, 1);
  s.type = SMP_T_STR;
  s.str = m[2];
  return true;
}
function countResult(count: boolean, s: Sample, v: number): boolean {
  if (!count) return false;
  s.type = SMP_T_SINT;
  s.int = v;
  return true;
}

/* --------------------------------------------------------------------- */
/* Internal state, stick counters                                        */
/* --------------------------------------------------------------------- */

function setInt(s: Sample, v: number): boolean {
  s.type = SMP_T_SINT;
  s.int = v;
  return true;
}

function beOf(c: SmpCtx, rt: SmpRt): Proxy | null {
  return rt.px ?? c.be;
}

/** HAProxy: be_usable_srv(). */
function usableSrv(be: Proxy): number {
  if (be.srvAct) return be.srvAct;
  if (be.lbprm.fbck !== null) return 1;
  return be.srvBck;
}

function fetchConnslots(c: SmpCtx, _e: SampleExpr, rt: SmpRt, s: Sample): boolean {
  const be = beOf(c, rt);
  if (be === null) return false;
  let v = 0;
  for (const srv of be.servers) {
    if (srv.curState === SRV_ST_STOPPED) continue;
    if (srv.maxconn === 0 || srv.maxqueue === 0) return setInt(s, -1);
    v += srv.maxconn - srv.curSess + (srv.maxqueue - srv.nbpend);
  }
  return setInt(s, v);
}

function stkFetch(c: SmpCtx, e: SampleExpr, rt: SmpRt, s: Sample): boolean {
  const f = e.fetch;
  let counter = f.impl;
  let kilo = false;
  if (counter.startsWith("k:")) {
    kilo = true;
    counter = counter.slice(2);
  }
  let tbl: StickTable | null;
  let ent: StkEntry | null;
  if (f.sc! >= 0) {
    const ctr = c.stk !== null ? c.stk[f.sc!] : null;
    if (counter === "tracked") {
      s.type = SMP_T_BOOL;
      s.int = ctr ? 1 : 0;
      return true;
    }
    if (!ctr) {
      // HAProxy: an untracked counter reads as 0 for the *_cnt/_cur/_rate fetches.
      return setInt(s, 0);
    }
    tbl = ctr.tbl;
    ent = ctr.e;
  } else {
    tbl = rt.tbl;
    if (tbl === null || !fillAddr(c.addr, c.addrLen, smpTmp, false)) return false;
    const key = tbl.cfg.type === "ip" && smpTmp.type === SMP_T_IPV4 ? smpTmp.int : sampleToString(smpTmp);
    ent = tbl.entries.get(key) ?? null;
    if (ent === null) return setInt(s, 0);
  }
  const v = stkRead(tbl, ent, counter);
  if (v < 0) return false;
  return setInt(s, kilo ? Math.floor(v / 1024) : v);
}

/* --------------------------------------------------------------------- */
/* The fetch table                                                        */
/* --------------------------------------------------------------------- */

type FetchFn = SmpRt["fn"];
const IMPL: Record<string, FetchFn> = Object.assign(Object.create(null), {
  always_true: (_c: SmpCtx, _e: SampleExpr, _r: SmpRt, s: Sample) => { s.type = SMP_T_BOOL; s.int = 1; return true; },
  always_false: (_c: SmpCtx, _e: SampleExpr, _r: SmpRt, s: Sample) => { s.type = SMP_T_BOOL; s.int = 0; return true; },
  src: (c: SmpCtx, _e: SampleExpr, _r: SmpRt, s: Sample) => fillAddr(c.addr, c.addrLen, s, false),
  src_port: (c: SmpCtx, _e: SampleExpr, _r: SmpRt, s: Sample) => fillAddr(c.addr, c.addrLen, s, true),
  dst: (c: SmpCtx, _e: SampleExpr, _r: SmpRt, s: Sample) => { const [b, l] = dstAddr(c); return fillAddr(b, l, s, false); },
  dst_port: (c: SmpCtx, _e: SampleExpr, _r: SmpRt, s: Sample) => { const [b, l] = dstAddr(c); return fillAddr(b, l, s, true); },
  fe_conn: (c: SmpCtx, _e: SampleExpr, r: SmpRt, s: Sample) => { const p = r.px ?? c.fe; return p !== null && setInt(s, p.feconn); },
  be_conn: (c: SmpCtx, _e: SampleExpr, r: SmpRt, s: Sample) => { const p = beOf(c, r); return p !== null && setInt(s, p.beconn); },
  nbsrv: (c: SmpCtx, _e: SampleExpr, r: SmpRt, s: Sample) => { const p = beOf(c, r); return p !== null && setInt(s, usableSrv(p)); },
  connslots: fetchConnslots,
  srv_is_up: (_c: SmpCtx, _e: SampleExpr, r: SmpRt, s: Sample) => {
    const srv = r.srv;
    if (srv === null) return false;
    s.type = SMP_T_BOOL;
    s.int = (srv.curAdmin & SRV_ADMF_MAINT) === 0 && srv.curState !== SRV_ST_STOPPED ? 1 : 0;
    return true;
  },
  wait_end: fetchWaitEnd,
  "req.len": fetchReqLen,
  "res.len": fetchReqLen,
  "req.payload": fetchPayload,
  "res.payload": fetchPayload,
  payload: fetchPayload,
  "req.payload_lv": fetchPayloadLv,
  "res.payload_lv": fetchPayloadLv,
  payload_lv: fetchPayloadLv,
  "req.ssl_hello_type": fetchSslHelloType,
  "req.ssl_sni": fetchSslSni,
  "req.ssl_ver": fetchSslVer,
  "req.rdp_cookie": (c: SmpCtx, e: SampleExpr, _r: SmpRt, s: Sample) => rdpCookie(c, e, s, false),
  "req.rdp_cookie_cnt": (c: SmpCtx, e: SampleExpr, _r: SmpRt, s: Sample) => rdpCookie(c, e, s, true),
});

/* --------------------------------------------------------------------- */
/* Converters                                                             */
/* --------------------------------------------------------------------- */

/** Applies the converters of <e> to <s>. HAProxy: the converter loop of sample_process(). */
function applyConvs(e: SampleExpr, s: Sample): boolean {
  for (let i = 0; i < e.convs.length; i++) {
    const cv = e.convs[i];
    switch (cv.conv.kw) {
      case "lower":
        s.str = sampleToString(s).toLowerCase();
        s.type = SMP_T_STR;
        break;
      case "upper":
        s.str = sampleToString(s).toUpperCase();
        s.type = SMP_T_STR;
        break;
      case "hex": {
        let out = "";
        if (s.type === SMP_T_BIN) {
          for (let k = 0; k < s.len; k++) out += HEX[s.bin![s.off + k]];
        } else {
          const t = sampleToString(s);
          for (let k = 0; k < t.length; k++) out += HEX[t.charCodeAt(k) & 255];
        }
        s.type = SMP_T_STR;
        s.str = out;
        break;
      }
      case "ipmask":
        if (s.type !== SMP_T_IPV4) return false;
        s.int = (s.int & cv.mask) >>> 0;
        break;
    }
  }
  return true;
}
const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).toUpperCase().padStart(2, "0"));

/** HAProxy: sample_process(): fetch then convert; false when there is no sample. */
export function sampleProcess(c: SmpCtx, e: SampleExpr, s: Sample): boolean {
  const rt = e.rt as SmpRt;
  s.flags = 0;
  s.bin = null;
  if (!rt.fn(c, e, rt, s)) return false;
  if (e.convs.length && !applyConvs(e, s)) return false;
  return true;
}

/** Fetches <e> into the shared sample; null when there is none (the shared sample's flags tell why). */
export function sampleFetch(c: SmpCtx, e: SampleExpr): Sample | null {
  return sampleProcess(c, e, smp) ? smp : null;
}

/** The shared sample's flags after the last fetch (SMP_F_MAY_CHANGE). */
export function lastSampleFlags(): number {
  return smp.flags;
}

/* --------------------------------------------------------------------- */
/* ACL evaluation                                                         */
/* --------------------------------------------------------------------- */

/** HAProxy: ACL_TEST_FAIL / ACL_TEST_MISS / ACL_TEST_PASS (bit-coded so that & and | combine them). */
export const ACL_TEST_FAIL = 0;
export const ACL_TEST_MISS = 1;
export const ACL_TEST_PASS = 3;

/**
 * --trace=rule: when <terms> is not null, aclExecCond() empties it and records each term it
 * evaluates as (suite << 16) | (term << 2) | result (after negation). Null when tracing is off.
 */
export const condTrace: { terms: number[] | null } = { terms: null };

/** HAProxy: acl_exec_cond(): the condition's result (before its if/unless polarity). */
export function aclExecCond(cond: AclCond, c: SmpCtx): number {
  let condRes = ACL_TEST_FAIL;
  const tr = condTrace.terms;
  if (tr !== null) tr.length = 0;
  const suites = cond.suites;
  for (let si = 0; si < suites.length; si++) {
    const suite = suites[si];
    let suiteRes = ACL_TEST_PASS;
    for (let ti = 0; ti < suite.length; ti++) {
      const term = suite[ti];
      const exprs = term.acl.exprs;
      let aclRes = ACL_TEST_FAIL;
      for (let ei = 0; ei < exprs.length; ei++) {
        const x = exprs[ei];
        if (!sampleProcess(c, x.smp, smp)) {
          if ((smp.flags & SMP_F_MAY_CHANGE) && !(c.opt & SMP_OPT_FINAL)) aclRes |= ACL_TEST_MISS;
          continue;
        }
        if (patternMatch(x.pat, smp)) {
          aclRes = ACL_TEST_PASS;
          break;
        }
        if ((smp.flags & SMP_F_MAY_CHANGE) && !(c.opt & SMP_OPT_FINAL)) aclRes |= ACL_TEST_MISS;
      }
      // HAProxy: acl_neg(): MISS stays MISS.
      if (term.neg) aclRes = aclRes === ACL_TEST_PASS ? ACL_TEST_FAIL : aclRes === ACL_TEST_FAIL ? ACL_TEST_PASS : aclRes;
      if (tr !== null) tr.push((si << 16) | (ti << 2) | aclRes);
      suiteRes &= aclRes;
      if (suiteRes === ACL_TEST_FAIL) break;
    }
    condRes |= suiteRes;
    if (condRes === ACL_TEST_PASS) break;
  }
  return condRes;
}

/** HAProxy: acl_pass() + the cond's polarity: whether the rule applies (MISS counts as no). */
export function condPasses(cond: AclCond, res: number): boolean {
  const pass = res === ACL_TEST_PASS;
  return cond.pol === "unless" ? !pass : pass;
}

/* --------------------------------------------------------------------- */
/* Binding                                                                */
/* --------------------------------------------------------------------- */

/** Finds proxies by name for fetch arguments. */
export type ProxyLookup = (name: string) => Proxy | undefined;

/**
 * Attaches the implementation and resolved arguments to sample expression <e> used in proxy <px>.
 * Returns an error in 1.8's words when an argument names nothing. HAProxy: smp_resolve_args().
 */
export function bindSampleExpr(e: SampleExpr, px: Proxy, lookup: ProxyLookup, where: string): string | null {
  const f = e.fetch;
  const rt: SmpRt = { fn: IMPL[f.impl] ?? stkFetch, px: null, srv: null, tbl: null };
  e.rt = rt;
  const kind = f.args[0];
  const arg = e.args.length ? String(e.args[0]) : "";
  if ((kind === "be" || kind === "fe") && arg) {
    const p = lookup(arg);
    if (!p || (kind === "be" && !p.cfg.cap.be) || (kind === "fe" && !p.cfg.cap.fe)) {
      return `unable to find ${kind === "be" ? "backend" : "frontend"} '${arg}' referenced in arg 1 of ${where}keyword '${e.kw}' in proxy '${px.id}'.`;
    }
    rt.px = p;
  } else if (kind === "srv") {
    const slash = arg.indexOf("/");
    const beName = slash >= 0 ? arg.slice(0, slash) : "";
    const srvName = slash >= 0 ? arg.slice(slash + 1) : arg;
    const be = beName ? lookup(beName) : px;
    if (!be || !be.cfg.cap.be) return `unable to find backend '${beName}' referenced in arg 1 of ${where}keyword '${e.kw}' in proxy '${px.id}'.`;
    const srv = be.servers.find((x) => x.id === srvName) ?? null;
    if (!srv) return `unable to find server '${srvName}' in backend '${be.id}', referenced in arg 1 of ${where}keyword '${e.kw}' in proxy '${px.id}'.`;
    rt.srv = srv;
  } else if (kind === "tbl") {
    const name = arg || px.id;
    const t = tables.get(name) ?? null;
    if (t === null && (arg || f.sc! < 0)) {
      return `unable to find table '${name}' referenced in arg 1 of ${where}keyword '${e.kw}' in proxy '${px.id}'.`;
    }
    rt.tbl = t;
  }
  return null;
}

/** Binds every sample expression of <cond>; returns the first error. */
export function bindCond(cond: AclCond, px: Proxy, lookup: ProxyLookup): string | null {
  for (const suite of cond.suites) {
    for (const t of suite) {
      for (const x of t.acl.exprs) {
        if (x.smp.rt !== undefined) continue;
        const err = bindSampleExpr(x.smp, px, lookup, "ACL ");
        if (err) return err;
      }
    }
  }
  return null;
}

void SMP_T_IPV6;
void clock;
