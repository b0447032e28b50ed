/**
 * The PROXY protocol, versions 1 (text) and 2 (binary), as doc/proxy-protocol.txt specifies them.
 * HAProxy 1.8: the decoding half of conn_recv_proxy(), make_proxy_line(), make_proxy_line_v1(),
 * make_proxy_line_v2() (src/connection.c), PP2_* and CO_ER_PRX_* (include/types/connection.h),
 * conn_err_code_str() (include/proto/connection.h).
 *
 * This file only works on bytes: ppParse() decodes a header at the start of a buffer, ppMakeLine()
 * builds one. The socket side (reading the header, sending it, partial writes) is in connection.ts.
 *
 * Receiving, hapoll differs from 1.8 on one point, on purpose: 1.8 peeks (MSG_PEEK) and rejects a
 * header that is not complete in the first read ("Truncated PROXY protocol header received"),
 * because with a peek it cannot wait for more without spinning. hapoll reads into the buffer that
 * becomes the request channel's, so it can wait: ppParse() says "need more" as long as the bytes
 * seen can still become a valid header, as the specification recommends ("be tolerant"). Waiting is
 * bounded by the header's maximum size (107 bytes for v1, the buffer for v2) and by `timeout client`.
 * Anything that can no longer match is refused at once.
 */
import { native, C } from "../native";

/** HAProxy: CO_ER_* (the PROXY protocol ones): why a handshake failed. 0 = no error. */
export const CO_ER_NONE = 0;
export const CO_ER_PRX_EMPTY = 1;
export const CO_ER_PRX_ABORT = 2;
export const CO_ER_PRX_TIMEOUT = 3;
export const CO_ER_PRX_TRUNCATED = 4;
export const CO_ER_PRX_NOT_HDR = 5;
export const CO_ER_PRX_BAD_HDR = 6;
export const CO_ER_PRX_BAD_PROTO = 7;

const ERR_STR = [
  "",
  "Connection closed while waiting for PROXY protocol header",
  "Connection error while waiting for PROXY protocol header",
  "Timeout while waiting for PROXY protocol header",
  "Truncated PROXY protocol header received",
  "Received something which does not look like a PROXY protocol header",
  "Received an invalid PROXY protocol header",
  "Received an unhandled protocol in the PROXY protocol header",
];

/** HAProxy: conn_err_code_str(): the text logged for a CO_ER_* code, or null for none/unknown. */
export function connErrCodeStr(code: number): string | null {
  return code > 0 && code < ERR_STR.length ? ERR_STR[code] : null;
}

/** HAProxy: PP2_SIGNATURE: the 12 bytes that open a v2 header. */
export const PP2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** HAProxy: PP2_HEADER_LEN: signature + ver/cmd + family + length. */
export const PP2_HEADER_LEN = 16;
/** HAProxy: PP2_ADDR_LEN_INET / _INET6 / _UNIX. */
export const PP2_ADDR_LEN_INET = 12;
export const PP2_ADDR_LEN_INET6 = 36;
export const PP2_ADDR_LEN_UNIX = 216;
/** The longest v1 line, CRLF included ("PROXY UNKNOWN" with two full IPv6 addresses and ports). */
export const PP1_MAX_LINE = 107;
/** A buffer this large holds any header hapoll sends (v1: 107, v2 without TLVs: 52). */
export const PP_MAX_SEND = 128;

/** "PROXY " */
const V1_PREFIX = Buffer.from("PROXY ", "latin1");
const PROTO_TCP4 = Buffer.from("TCP4 ", "latin1");
const PROTO_TCP6 = Buffer.from("TCP6 ", "latin1");
const PROTO_UNKNOWN = Buffer.from("UNKNOWN", "latin1");

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const DOT = 0x2e;
const COLON = 0x3a;

/** What a complete header said. One instance is reused by the caller (no allocation per parse). */
export class ProxyHeader {
  /** 1 or 2. */
  version = 0;
  /**
   * True when the header carries the addresses to use (v1 TCP4/TCP6, v2 PROXY over TCP/IPv4, IPv6
   * or unix stream). False when the real connection's addresses stay (v1 UNKNOWN, v2 LOCAL, v2
   * UNSPEC or datagram families, which a TCP proxy treats as UNSPEC as the specification allows).
   */
  addrSet = false;
  /** Source (client) and destination sockaddrs, valid when addrSet. */
  readonly from = Buffer.alloc(C.SOCKADDR_MAX);
  fromLen = 0;
  readonly to = Buffer.alloc(C.SOCKADDR_MAX);
  toLen = 0;
}

/* Sockaddr templates built once by the addon, so the family bytes are right on every platform
 * (sin_len on the BSDs); ports and addresses are then patched at their fixed offsets, which are the
 * same everywhere: sin_port/sin6_port at 2, sin_addr at 4, sin6_addr at 8. */
const SA4 = Buffer.alloc(C.SOCKADDR_MAX);
const SA4_LEN = native.sockaddrFrom("ipv4", "0.0.0.0", 0, SA4);
const SA6 = Buffer.alloc(C.SOCKADDR_MAX);
const SA6_LEN = native.sockaddrFrom("ipv6", "::", 0, SA6);
const SAUN = Buffer.alloc(C.SOCKADDR_MAX);
/** offsetof(struct sockaddr_un, sun_path): an unnamed unix address is just the family. */
const SAUN_PATH_OFF = 2;
{
  native.sockaddrFrom("unix", "x", 0, SAUN);
  SAUN.fill(0, SAUN_PATH_OFF);
}

/** Write an IPv4 sockaddr for buf[off, off+4) and <port> into <out>; returns its length. */
function sa4(out: Buffer, src: Buffer, off: number, port: number): number {
  SA4.copy(out, 0, 0, SA4_LEN);
  out.writeUInt16BE(port, 2);
  src.copy(out, 4, off, off + 4);
  return SA4_LEN;
}

/** Write an IPv6 sockaddr for buf[off, off+16) and <port> into <out>; returns its length. */
function sa6(out: Buffer, src: Buffer, off: number, port: number): number {
  SA6.copy(out, 0, 0, SA6_LEN);
  out.writeUInt16BE(port, 2);
  src.copy(out, 8, off, off + 16);
  return SA6_LEN;
}

/**
 * Write a unix sockaddr for the 108-byte sun_path block at buf[off, off+108) into <out>. A path is
 * kept when it is a plain NUL-terminated one that fits; an unnamed or abstract peer (the usual case:
 * clients rarely bind) becomes an unnamed address.
 */
function saUnix(out: Buffer, src: Buffer, off: number): number {
  let n = 0;
  while (n < 108 && src[off + n] !== 0) n++;
  const room = C.SOCKADDR_MAX - SAUN_PATH_OFF - 1;
  if (n > 0 && n < 108 && n <= room) {
    const len = native.sockaddrFrom("unix", src.toString("latin1", off, off + n), 0, out);
    if (len > 0) return len;
  }
  SAUN.copy(out, 0, 0, SAUN_PATH_OFF + 1);
  return SAUN_PATH_OFF;
}

/** Scratch for parsed addresses (v1). */
const addrScratch = Buffer.alloc(32);
const words = new Uint16Array(8);

/**
 * Parse a dotted-quad IPv4 address in buf[s, e) into out[off, off+4): exactly four decimal numbers
 * 0..255, no leading zero (the specification forbids them: they read as octal elsewhere).
 */
function parseIp4(buf: Buffer, s: number, e: number, out: Buffer, off: number): boolean {
  let part = 0;
  let i = s;
  while (part < 4) {
    const start = i;
    let v = 0;
    while (i < e && buf[i] >= 0x30 && buf[i] <= 0x39) {
      v = v * 10 + (buf[i] - 0x30);
      i++;
      if (i - start > 3) return false;
    }
    const n = i - start;
    if (n === 0 || v > 255 || (n > 1 && buf[start] === 0x30)) return false;
    out[off + part] = v;
    part++;
    if (part < 4) {
      if (i >= e || buf[i] !== DOT) return false;
      i++;
    }
  }
  return i === e;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/**
 * Parse an IPv6 address in buf[s, e) into out[off, off+16): groups of 1 to 4 hex digits, at most
 * one "::", optionally ending with a dotted IPv4 address (what inet_pton() accepts, which is what
 * HAProxy uses). No zone ("%eth0"): the specification has none.
 */
function parseIp6(buf: Buffer, s: number, e: number, out: Buffer, off: number): boolean {
  let n = 0;
  let gap = -1;
  let i = s;
  if (e - s < 2) return false;
  if (buf[i] === COLON) {
    if (buf[i + 1] !== COLON) return false;
    gap = 0;
    i += 2;
  }
  while (i < e) {
    if (n === 8) return false;
    // A dotted IPv4 tail?
    let j = i;
    while (j < e && buf[j] !== COLON && buf[j] !== DOT) j++;
    if (j < e && buf[j] === DOT) {
      if (n > 6) return false;
      if (!parseIp4(buf, i, e, addrScratch, 0)) return false;
      words[n++] = (addrScratch[0] << 8) | addrScratch[1];
      words[n++] = (addrScratch[2] << 8) | addrScratch[3];
      i = e;
      break;
    }
    let v = 0;
    const start = i;
    while (i < e && i - start < 5) {
      const h = hexVal(buf[i]);
      if (h < 0) break;
      v = (v << 4) | h;
      i++;
    }
    const nd = i - start;
    if (nd === 0 || nd > 4) return false;
    words[n++] = v;
    if (i === e) break;
    if (buf[i] !== COLON) return false;
    i++;
    if (i < e && buf[i] === COLON) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    } else if (i === e) {
      return false; // a single trailing colon
    }
  }
  if (gap < 0) {
    if (n !== 8) return false;
  } else if (n > 7) {
    return false;
  }
  const zeros = 8 - n;
  let w = 0;
  for (let k = 0; k < 8; k++) {
    let v: number;
    if (gap >= 0 && k >= gap && k < gap + zeros) v = 0;
    else v = words[w++];
    out[off + 2 * k] = v >> 8;
    out[off + 2 * k + 1] = v & 0xff;
  }
  return true;
}

/** A decimal port 0..65535 in buf[s, e), no leading zero; -1 when invalid. */
function parsePort(buf: Buffer, s: number, e: number): number {
  const n = e - s;
  if (n < 1 || n > 5 || (n > 1 && buf[s] === 0x30)) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i];
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v <= 65535 ? v : -1;
}

/** Whether buf[s, s+n) is a prefix of <pat> (n may be shorter than pat). */
function prefixOf(buf: Buffer, s: number, n: number, pat: Buffer): boolean {
  const m = n < pat.length ? n : pat.length;
  for (let i = 0; i < m; i++) if (buf[s + i] !== pat[i]) return false;
  return true;
}

const addrBin = Buffer.alloc(32);

/**
 * The v1 line at buf[0, len) ("PROXY " already matched). Returns the line length, 0 for "need
 * more", or -CO_ER_*.
 */
function parseV1(buf: Buffer, len: number, h: ProxyHeader): number {
  // Refuse an unknown protocol as soon as it shows, without waiting for the CRLF.
  const plen = len - 6 < 7 ? len - 6 : 7;
  if (plen > 0 && !prefixOf(buf, 6, plen, PROTO_TCP4) && !prefixOf(buf, 6, plen, PROTO_TCP6) &&
      !prefixOf(buf, 6, plen, PROTO_UNKNOWN)) {
    return -CO_ER_PRX_BAD_PROTO;
  }
  // The CRLF must end the line within PP1_MAX_LINE bytes; a lone CR or LF is invalid.
  const lim = len < PP1_MAX_LINE - 1 ? len : PP1_MAX_LINE - 1;
  let cr = -1;
  for (let i = 6; i < lim; i++) {
    const c = buf[i];
    if (c === CR) {
      cr = i;
      break;
    }
    if (c === LF) return -CO_ER_PRX_BAD_HDR;
  }
  if (cr < 0) return len >= PP1_MAX_LINE - 1 ? -CO_ER_PRX_BAD_HDR : 0;
  if (cr + 1 >= len) return 0;
  if (buf[cr + 1] !== LF) return -CO_ER_PRX_BAD_HDR;
  const lineLen = cr + 2;
  h.version = 1;
  h.addrSet = false;

  if (cr - 6 >= 7 && prefixOf(buf, 6, 7, PROTO_UNKNOWN)) {
    // "UNKNOWN", then the end of the line or a space and anything, which the receiver ignores.
    if (cr === 13 || buf[13] === SP) return lineLen;
    return -CO_ER_PRX_BAD_PROTO;
  }
  let v6: boolean;
  if (cr - 6 >= 5 && prefixOf(buf, 6, 5, PROTO_TCP4)) v6 = false;
  else if (cr - 6 >= 5 && prefixOf(buf, 6, 5, PROTO_TCP6)) v6 = true;
  else return -CO_ER_PRX_BAD_PROTO;

  // Four fields separated by exactly one space: src dst sport dport.
  const f = fieldBounds;
  let n = 0;
  let start = 11;
  for (let i = 11; i <= cr; i++) {
    if (i === cr || buf[i] === SP) {
      if (n === 4 || i === start) return -CO_ER_PRX_BAD_HDR;
      f[2 * n] = start;
      f[2 * n + 1] = i;
      n++;
      start = i + 1;
    }
  }
  if (n !== 4) return -CO_ER_PRX_BAD_HDR;
  const sport = parsePort(buf, f[4], f[5]);
  const dport = parsePort(buf, f[6], f[7]);
  if (sport < 0 || dport < 0) return -CO_ER_PRX_BAD_HDR;
  if (!v6) {
    if (!parseIp4(buf, f[0], f[1], addrBin, 0) || !parseIp4(buf, f[2], f[3], addrBin, 4)) return -CO_ER_PRX_BAD_HDR;
    h.fromLen = sa4(h.from, addrBin, 0, sport);
    h.toLen = sa4(h.to, addrBin, 4, dport);
  } else {
    if (!parseIp6(buf, f[0], f[1], addrBin, 0) || !parseIp6(buf, f[2], f[3], addrBin, 16)) return -CO_ER_PRX_BAD_HDR;
    h.fromLen = sa6(h.from, addrBin, 0, sport);
    h.toLen = sa6(h.to, addrBin, 16, dport);
  }
  h.addrSet = true;
  return lineLen;
}
const fieldBounds = new Int32Array(8);

/**
 * The v2 header at buf[0, len) (signature already matched). Returns its length, 0 for "need more",
 * or -CO_ER_*. <cap> is the most the caller can ever hold.
 */
function parseV2(buf: Buffer, len: number, cap: number, h: ProxyHeader): number {
  if (len < 13) return 0;
  const verCmd = buf[12];
  if ((verCmd & 0xf0) !== 0x20) return -CO_ER_PRX_NOT_HDR;
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return -CO_ER_PRX_BAD_HDR;
  if (len < PP2_HEADER_LEN) return 0;
  const fam = buf[13];
  // Families 0..3 (UNSPEC, INET, INET6, UNIX), transports 0..2 (UNSPEC, STREAM, DGRAM); the rest is
  // invalid, except under LOCAL whose family "is ignored".
  if (cmd === 1 && ((fam >> 4) > 3 || (fam & 0x0f) > 2)) return -CO_ER_PRX_BAD_HDR;
  const alen = buf.readUInt16BE(14);
  const total = PP2_HEADER_LEN + alen;
  if (total > cap) return -CO_ER_PRX_TRUNCATED;
  if (len < total) return 0;
  h.version = 2;
  h.addrSet = false;
  if (cmd === 0) return total; // LOCAL: the real endpoints stay, the block is skipped whatever it holds.

  let tlv = total;
  switch (fam) {
    case 0x11:
      if (alen < PP2_ADDR_LEN_INET) return -CO_ER_PRX_BAD_HDR;
      h.fromLen = sa4(h.from, buf, 16, buf.readUInt16BE(24));
      h.toLen = sa4(h.to, buf, 20, buf.readUInt16BE(26));
      h.addrSet = true;
      tlv = PP2_HEADER_LEN + PP2_ADDR_LEN_INET;
      break;
    case 0x21:
      if (alen < PP2_ADDR_LEN_INET6) return -CO_ER_PRX_BAD_HDR;
      h.fromLen = sa6(h.from, buf, 16, buf.readUInt16BE(48));
      h.toLen = sa6(h.to, buf, 32, buf.readUInt16BE(50));
      h.addrSet = true;
      tlv = PP2_HEADER_LEN + PP2_ADDR_LEN_INET6;
      break;
    case 0x31:
      if (alen < PP2_ADDR_LEN_UNIX) return -CO_ER_PRX_BAD_HDR;
      h.fromLen = saUnix(h.from, buf, 16);
      h.toLen = saUnix(h.to, buf, 16 + 108);
      h.addrSet = true;
      tlv = PP2_HEADER_LEN + PP2_ADDR_LEN_UNIX;
      break;
    default:
      // UNSPEC or datagram: keep the real addresses; the address block's layout is not ours to read.
      return total;
  }
  // TLVs (type, 16-bit length, value) are skipped, but they must tile the rest of the block exactly.
  while (tlv < total) {
    if (tlv + 3 > total) return -CO_ER_PRX_BAD_HDR;
    tlv += 3 + buf.readUInt16BE(tlv + 1);
    if (tlv > total) return -CO_ER_PRX_BAD_HDR;
  }
  return total;
}

/**
 * HAProxy: the decoding part of conn_recv_proxy(). Decode the PROXY header at buf[0, len).
 * Returns the header's length (> 0) when it is complete and valid (the result is in <h>), 0 when
 * the bytes so far can still become a valid header and more are needed, or -CO_ER_* when they
 * cannot. <cap> is the most bytes the caller can ever collect (a v2 header longer than that is
 * refused rather than waited for).
 */
export function ppParse(buf: Buffer, len: number, cap: number, h: ProxyHeader): number {
  if (len <= 0) return 0;
  if (buf[0] === V1_PREFIX[0]) {
    if (!prefixOf(buf, 0, len, V1_PREFIX)) return -CO_ER_PRX_NOT_HDR;
    if (len < V1_PREFIX.length) return 0;
    return parseV1(buf, len, h);
  }
  if (!prefixOf(buf, 0, len, PP2_SIGNATURE)) return -CO_ER_PRX_NOT_HDR;
  if (len < PP2_SIGNATURE.length) return 0;
  return parseV2(buf, len, cap, h);
}

/** "1.2.3.4" / "::1" of a decoded address, without an IPv6 zone. */
function hostText(address: string): string {
  const pct = address.indexOf("%");
  return pct < 0 ? address : address.slice(0, pct);
}

/**
 * HAProxy: make_proxy_line_v1(). "PROXY TCP4 src dst sport dport\r\n" (or TCP6) when both
 * addresses are of the same inet family, "PROXY UNKNOWN\r\n" otherwise. Returns the length written
 * into <out>, 0 if it does not fit.
 */
export function makeProxyLineV1(out: Buffer, src: Buffer | null, srcLen: number, dst: Buffer | null, dstLen: number): number {
  const si = src ? native.sockaddrInfo(src, srcLen) : null;
  const di = dst ? native.sockaddrInfo(dst, dstLen) : null;
  let line: string;
  if (si && di && si.family === di.family && si.family !== "unix") {
    line = `PROXY ${si.family === "ipv4" ? "TCP4" : "TCP6"} ${hostText(si.address)} ${hostText(di.address)} ${si.port} ${di.port}\r\n`;
  } else {
    line = "PROXY UNKNOWN\r\n";
  }
  if (line.length > out.length) return 0;
  return out.write(line, 0, "latin1");
}

/**
 * HAProxy: make_proxy_line_v2(). A PROXY command over TCP/IPv4 or TCP/IPv6 when both addresses are
 * of the same inet family, a LOCAL command with no address otherwise (1.8 does the same for unix
 * sockets). No TLV: 1.8 only adds ALPN, SSL and netns ones, none of which a TCP proxy has. Returns
 * the length written into <out>, 0 if it does not fit.
 */
export function makeProxyLineV2(out: Buffer, src: Buffer | null, srcLen: number, dst: Buffer | null, dstLen: number): number {
  if (out.length < PP2_HEADER_LEN + PP2_ADDR_LEN_INET6) return 0;
  PP2_SIGNATURE.copy(out, 0);
  const si = src ? native.sockaddrInfo(src, srcLen) : null;
  const di = dst ? native.sockaddrInfo(dst, dstLen) : null;
  let ret: number;
  if (si && di && si.family === di.family && si.family === "ipv4") {
    out[12] = 0x21; // version 2, PROXY
    out[13] = 0x11; // AF_INET, STREAM
    src!.copy(out, 16, 4, 8);
    dst!.copy(out, 20, 4, 8);
    src!.copy(out, 24, 2, 4);
    dst!.copy(out, 26, 2, 4);
    ret = PP2_HEADER_LEN + PP2_ADDR_LEN_INET;
  } else if (si && di && si.family === di.family && si.family === "ipv6") {
    out[12] = 0x21;
    out[13] = 0x21; // AF_INET6, STREAM
    src!.copy(out, 16, 8, 24);
    dst!.copy(out, 32, 8, 24);
    src!.copy(out, 48, 2, 4);
    dst!.copy(out, 50, 2, 4);
    ret = PP2_HEADER_LEN + PP2_ADDR_LEN_INET6;
  } else {
    out[12] = 0x20; // version 2, LOCAL
    out[13] = 0x00; // UNSPEC
    ret = PP2_HEADER_LEN;
  }
  out.writeUInt16BE(ret - PP2_HEADER_LEN, 14);
  return ret;
}

/** HAProxy: make_proxy_line(): v2 when <version> is 2 (send-proxy-v2), else v1. */
export function makeProxyLine(out: Buffer, version: number, src: Buffer | null, srcLen: number, dst: Buffer | null, dstLen: number): number {
  return version === 2 ? makeProxyLineV2(out, src, srcLen, dst, dstLen) : makeProxyLineV1(out, src, srcLen, dst, dstLen);
}
