/**
 * The PROXY protocol codec (src/net/proxy_protocol.ts) against doc/proxy-protocol.txt, and the two
 * socket-side handshakes of src/net/connection.ts: connRecvProxy() over a real socketpair (headers
 * split across reads, data after the header kept for the request channel) and connSendProxy() with
 * send() forced to accept a few bytes at a time (the header going out in pieces).
 *
 * Expected bytes are written here from the specification, not produced by the code under test.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { native } from "../../src/native";
import {
  CO_ER_PRX_BAD_HDR, CO_ER_PRX_BAD_PROTO, CO_ER_PRX_EMPTY, CO_ER_PRX_NOT_HDR, CO_ER_PRX_TRUNCATED,
  ProxyHeader, connErrCodeStr, makeProxyLineV1, makeProxyLineV2, ppParse,
} from "../../src/net/proxy_protocol";
import {
  Connection, connRecvProxy, connSendProxy, CO_FL_ACCEPT_PROXY, CO_FL_ADDR_TO_SET, CO_FL_ERROR,
  CO_FL_RCVD_PROXY, CO_FL_SEND_PROXY, CO_FL_WAIT_L4_CONN, CO_FL_CTRL_READY,
} from "../../src/net/connection";
import { fdInsert, fdMayRecv, fdMaySend, fdRecvReady, fdSendReady, fdWantRecv, fdWantSend, initFdtab } from "../../src/core/fd";
import { bFree, initBufPool } from "../../src/core/buffer";

const C = native.constants;
const SIG = Buffer.from("0d0a0d0a000d0a515549540a", "hex");

function b(s: string): Buffer {
  return Buffer.from(s, "latin1");
}

/** Parse the whole buffer with a large capacity. */
function parse(buf: Buffer, cap = 16384): { r: number; h: ProxyHeader } {
  const h = new ProxyHeader();
  return { r: ppParse(buf, buf.length, cap, h), h };
}

function from(h: ProxyHeader): string {
  const i = native.sockaddrInfo(h.from, h.fromLen)!;
  return i.family === "unix" ? `unix:${i.address}` : `${i.family} ${i.address} ${i.port}`;
}
function to(h: ProxyHeader): string {
  const i = native.sockaddrInfo(h.to, h.toLen)!;
  return i.family === "unix" ? `unix:${i.address}` : `${i.family} ${i.address} ${i.port}`;
}

/** A v2 header: 13th byte <verCmd>, 14th <fam>, then <body> (its length goes in bytes 15-16). */
function v2(verCmd: number, fam: number, body: Buffer, lenOverride?: number): Buffer {
  const hdr = Buffer.alloc(16);
  SIG.copy(hdr, 0);
  hdr[12] = verCmd;
  hdr[13] = fam;
  hdr.writeUInt16BE(lenOverride ?? body.length, 14);
  return Buffer.concat([hdr, body]);
}

function ip4Body(src: number[], dst: number[], sport: number, dport: number): Buffer {
  const x = Buffer.alloc(12);
  Buffer.from(src).copy(x, 0);
  Buffer.from(dst).copy(x, 4);
  x.writeUInt16BE(sport, 8);
  x.writeUInt16BE(dport, 10);
  return x;
}

function ip6Body(src: string, dst: string, sport: number, dport: number): Buffer {
  const x = Buffer.alloc(36);
  Buffer.from(src, "hex").copy(x, 0);
  Buffer.from(dst, "hex").copy(x, 16);
  x.writeUInt16BE(sport, 32);
  x.writeUInt16BE(dport, 34);
  return x;
}

function sa(family: "ipv4" | "ipv6" | "unix", host: string, port: number): [Buffer, number] {
  const buf = Buffer.alloc(C.SOCKADDR_MAX);
  const len = native.sockaddrFrom(family, host, port, buf);
  expect(len).toBeGreaterThan(0);
  return [buf, len];
}

describe("ppParse(): version 1", () => {
  it("decodes a TCP4 line: length, source and destination", () => {
    const line = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
    const { r, h } = parse(b(line + "GET / HTTP/1.1\r\n"));
    expect(r).toBe(line.length);
    expect(h.version).toBe(1);
    expect(h.addrSet).toBe(true);
    expect(from(h)).toBe("ipv4 192.168.0.1 56324");
    expect(to(h)).toBe("ipv4 192.168.0.11 443");
  });

  it("decodes TCP6 lines in full, compressed and IPv4-tailed forms", () => {
    const full = "PROXY TCP6 2001:0db8:0000:0000:0000:0000:0000:0001 ::1 1 65535\r\n";
    let { r, h } = parse(b(full + "x"));
    expect(r).toBe(full.length);
    expect(from(h)).toBe("ipv6 2001:db8::1 1");
    expect(to(h)).toBe("ipv6 ::1 65535");
    ({ r, h } = parse(b("PROXY TCP6 fe80::abcd:1 :: 0 0\r\n")));
    expect(r).toBeGreaterThan(0);
    expect(from(h)).toBe("ipv6 fe80::abcd:1 0");
    expect(to(h)).toBe("ipv6 :: 0");
    ({ r, h } = parse(b("PROXY TCP6 ::ffff:10.1.2.3 1:2:3:4:5:6:7:8 80 81\r\n")));
    expect(r).toBeGreaterThan(0);
    expect(from(h)).toBe("ipv6 ::ffff:10.1.2.3 80");
    expect(to(h)).toBe("ipv6 1:2:3:4:5:6:7:8 81");
  });

  it("accepts UNKNOWN with or without the rest of the line, keeping the real addresses", () => {
    for (const line of ["PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff:f::f ffff:f::f 65535 65535\r\n", "PROXY UNKNOWN whatever\r\n"]) {
      const { r, h } = parse(b(line + "data"));
      expect(r, line).toBe(line.length);
      expect(h.addrSet).toBe(false);
    }
  });

  it("accepts a 107-byte line (the longest allowed) and refuses a 108-byte one", () => {
    const six = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    const max = `PROXY UNKNOWN ${six} ${six} 65535 65535\r\n`;
    expect(max.length).toBe(107);
    expect(parse(b(max)).r).toBe(107);
    const over = `PROXY UNKNOWN ${six} ${six} 65535 655350\r\n`;
    expect(over.length).toBe(108);
    expect(parse(b(over)).r).toBe(-CO_ER_PRX_BAD_HDR);
  });

  it("asks for more on every proper prefix of a valid line (a header split over several reads)", () => {
    const line = b("PROXY TCP4 10.0.0.1 10.0.0.2 1000 2000\r\n");
    const h = new ProxyHeader();
    for (let n = 1; n < line.length; n++) expect(ppParse(line, n, 16384, h), `prefix ${n}`).toBe(0);
    expect(ppParse(line, line.length, 16384, h)).toBe(line.length);
  });

  it("refuses 106 bytes with no CRLF at once, without waiting for more", () => {
    const buf = b("PROXY UNKNOWN " + "x".repeat(92));
    expect(buf.length).toBe(106);
    expect(parse(buf).r).toBe(-CO_ER_PRX_BAD_HDR);
    expect(parse(buf.subarray(0, 105)).r).toBe(0);
  });

  it("refuses what does not start like a header from the first byte that differs", () => {
    expect(parse(b("G")).r).toBe(-CO_ER_PRX_NOT_HDR);
    expect(parse(b("GET / HTTP/1.0\r\n\r\n")).r).toBe(-CO_ER_PRX_NOT_HDR);
    expect(parse(b("PROXZ")).r).toBe(-CO_ER_PRX_NOT_HDR);
    expect(parse(b("PROXY\r\n")).r).toBe(-CO_ER_PRX_NOT_HDR);
    expect(parse(b("proxy TCP4 1.2.3.4 1.2.3.4 1 1\r\n")).r).toBe(-CO_ER_PRX_NOT_HDR);
  });

  it("refuses an unknown protocol as soon as it shows", () => {
    expect(parse(b("PROXY TCP5")).r).toBe(-CO_ER_PRX_BAD_PROTO);
    expect(parse(b("PROXY UDP4 1.2.3.4 1.2.3.4 1 1\r\n")).r).toBe(-CO_ER_PRX_BAD_PROTO);
    expect(parse(b("PROXY UNKNOWNX\r\n")).r).toBe(-CO_ER_PRX_BAD_PROTO);
    expect(parse(b("PROXY TCP\r\n")).r).toBe(-CO_ER_PRX_BAD_PROTO);
  });

  const bad: [string, string][] = [
    ["leading zero in an octet", "PROXY TCP4 01.2.3.4 1.2.3.4 1 1\r\n"],
    ["octet above 255", "PROXY TCP4 1.2.3.256 1.2.3.4 1 1\r\n"],
    ["three octets", "PROXY TCP4 1.2.3 1.2.3.4 1 1\r\n"],
    ["five octets", "PROXY TCP4 1.2.3.4.5 1.2.3.4 1 1\r\n"],
    ["leading zero in a port", "PROXY TCP4 1.2.3.4 1.2.3.4 080 1\r\n"],
    ["port above 65535", "PROXY TCP4 1.2.3.4 1.2.3.4 65536 1\r\n"],
    ["signed port", "PROXY TCP4 1.2.3.4 1.2.3.4 +1 1\r\n"],
    ["two spaces", "PROXY TCP4 1.2.3.4  1.2.3.4 1 1\r\n"],
    ["a trailing space", "PROXY TCP4 1.2.3.4 1.2.3.4 1 1 \r\n"],
    ["a missing port", "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n"],
    ["an extra field", "PROXY TCP4 1.2.3.4 1.2.3.4 1 1 1\r\n"],
    ["an IPv6 address in TCP4", "PROXY TCP4 ::1 ::1 1 1\r\n"],
    ["an IPv4 address in TCP6", "PROXY TCP6 1.2.3.4 1.2.3.4 1 1\r\n"],
    ["an IPv6 zone", "PROXY TCP6 fe80::1%eth0 ::1 1 1\r\n"],
    ["two '::'", "PROXY TCP6 1::2::3 ::1 1 1\r\n"],
    ["a five-digit group", "PROXY TCP6 12345::1 ::1 1 1\r\n"],
    ["nine groups", "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 1\r\n"],
    ["seven groups and no '::'", "PROXY TCP6 1:2:3:4:5:6:7 ::1 1 1\r\n"],
    ["a lone LF", "PROXY TCP4 1.2.3.4 1.2.3.4 1 1\n"],
    ["a CR not followed by LF", "PROXY TCP4 1.2.3.4 1.2.3.4 1 1\rX"],
  ];
  it.each(bad)("refuses %s", (_what, line) => {
    expect(parse(b(line)).r).toBe(-CO_ER_PRX_BAD_HDR);
  });
});

describe("ppParse(): version 2", () => {
  it("decodes PROXY over TCP/IPv4 (0x21 0x11)", () => {
    const hdr = v2(0x21, 0x11, ip4Body([10, 1, 2, 3], [192, 0, 2, 9], 40000, 8443));
    const { r, h } = parse(Buffer.concat([hdr, b("payload")]));
    expect(r).toBe(28);
    expect(h.version).toBe(2);
    expect(h.addrSet).toBe(true);
    expect(from(h)).toBe("ipv4 10.1.2.3 40000");
    expect(to(h)).toBe("ipv4 192.0.2.9 8443");
  });

  it("decodes PROXY over TCP/IPv6 (0x21 0x21)", () => {
    const hdr = v2(0x21, 0x21, ip6Body("20010db8000000000000000000000007", "00000000000000000000000000000001", 1, 65535));
    const { r, h } = parse(hdr);
    expect(r).toBe(52);
    expect(from(h)).toBe("ipv6 2001:db8::7 1");
    expect(to(h)).toBe("ipv6 ::1 65535");
  });

  it("decodes PROXY over unix stream (0x21 0x31): 108-byte paths", () => {
    const body = Buffer.alloc(216);
    body.write("/run/client.sock", 0, "latin1");
    body.write("/run/server.sock", 108, "latin1");
    const { r, h } = parse(v2(0x21, 0x31, body));
    expect(r).toBe(232);
    expect(h.addrSet).toBe(true);
    expect(from(h)).toBe("unix:/run/client.sock");
    expect(to(h)).toBe("unix:/run/server.sock");
  });

  it("LOCAL keeps the real addresses and skips the announced length, whatever the family byte", () => {
    let { r, h } = parse(v2(0x20, 0x00, Buffer.alloc(0)));
    expect(r).toBe(16);
    expect(h.addrSet).toBe(false);
    ({ r, h } = parse(v2(0x20, 0xff, Buffer.alloc(40, 7))));
    expect(r).toBe(56);
    expect(h.addrSet).toBe(false);
  });

  it("PROXY with UNSPEC or a datagram family falls back to the real addresses", () => {
    for (const fam of [0x00, 0x12, 0x22, 0x32, 0x10, 0x01]) {
      const { r, h } = parse(v2(0x21, fam, Buffer.alloc(12)));
      expect(r, `fam ${fam.toString(16)}`).toBe(28);
      expect(h.addrSet).toBe(false);
    }
  });

  it("skips well-formed TLVs after the addresses", () => {
    const tlvs = Buffer.from([0x04, 0x00, 0x03, 1, 2, 3, 0x01, 0x00, 0x02, 0x68, 0x32, 0x30, 0x00, 0x00]);
    const hdr = v2(0x21, 0x11, Buffer.concat([ip4Body([1, 1, 1, 1], [2, 2, 2, 2], 5, 6), tlvs]));
    const { r, h } = parse(hdr);
    expect(r).toBe(28 + tlvs.length);
    expect(from(h)).toBe("ipv4 1.1.1.1 5");
  });

  it("asks for more on every proper prefix (signature, fixed part, address block)", () => {
    const hdr = v2(0x21, 0x21, ip6Body("0".repeat(32), "0".repeat(31) + "1", 1, 2));
    const h = new ProxyHeader();
    for (let n = 1; n < hdr.length; n++) expect(ppParse(hdr, n, 16384, h), `prefix ${n}`).toBe(0);
    expect(ppParse(hdr, hdr.length, 16384, h)).toBe(hdr.length);
  });

  it("refuses a bad signature or version from the first wrong byte", () => {
    const good = v2(0x21, 0x11, ip4Body([1, 1, 1, 1], [1, 1, 1, 1], 1, 1));
    for (let i = 0; i < 12; i++) {
      const x = Buffer.from(good);
      x[i] ^= 0x40;
      expect(parse(x.subarray(0, i + 1)).r, `byte ${i}`).toBe(-CO_ER_PRX_NOT_HDR);
    }
    expect(parse(v2(0x11, 0x11, ip4Body([1, 1, 1, 1], [1, 1, 1, 1], 1, 1))).r).toBe(-CO_ER_PRX_NOT_HDR);
    expect(parse(v2(0x31, 0x11, Buffer.alloc(0)).subarray(0, 13)).r).toBe(-CO_ER_PRX_NOT_HDR);
  });

  it("refuses unassigned commands, families and transports, and short address blocks", () => {
    expect(parse(v2(0x22, 0x11, ip4Body([1, 1, 1, 1], [1, 1, 1, 1], 1, 1))).r).toBe(-CO_ER_PRX_BAD_HDR);
    expect(parse(v2(0x2f, 0x11, Buffer.alloc(0)).subarray(0, 13)).r).toBe(-CO_ER_PRX_BAD_HDR);
    expect(parse(v2(0x21, 0x41, Buffer.alloc(12))).r).toBe(-CO_ER_PRX_BAD_HDR);
    expect(parse(v2(0x21, 0x13, Buffer.alloc(12))).r).toBe(-CO_ER_PRX_BAD_HDR);
    expect(parse(v2(0x21, 0x11, Buffer.alloc(11))).r).toBe(-CO_ER_PRX_BAD_HDR);
    expect(parse(v2(0x21, 0x21, Buffer.alloc(35))).r).toBe(-CO_ER_PRX_BAD_HDR);
    expect(parse(v2(0x21, 0x31, Buffer.alloc(215))).r).toBe(-CO_ER_PRX_BAD_HDR);
  });

  it("refuses TLVs that overrun the announced length", () => {
    const addr = ip4Body([1, 1, 1, 1], [2, 2, 2, 2], 5, 6);
    expect(parse(v2(0x21, 0x11, Buffer.concat([addr, Buffer.from([0x04, 0x00, 0x05, 1, 2])]))).r).toBe(-CO_ER_PRX_BAD_HDR);
    expect(parse(v2(0x21, 0x11, Buffer.concat([addr, Buffer.from([0x04, 0x00])]))).r).toBe(-CO_ER_PRX_BAD_HDR);
  });

  it("waits for an announced length past the end, and refuses one that can never fit", () => {
    const hdr = v2(0x21, 0x11, ip4Body([1, 1, 1, 1], [2, 2, 2, 2], 5, 6), 100);
    expect(parse(hdr).r).toBe(0);
    expect(parse(hdr, 64).r).toBe(-CO_ER_PRX_TRUNCATED);
    expect(parse(v2(0x21, 0x11, Buffer.alloc(0), 0xffff)).r).toBe(-CO_ER_PRX_TRUNCATED);
  });
});

describe("makeProxyLineV1() / makeProxyLineV2()", () => {
  const out = Buffer.alloc(128);

  it("writes TCP4 and TCP6 lines and UNKNOWN for unix or mixed families", () => {
    const [s4, l4] = sa("ipv4", "192.0.2.1", 40001);
    const [d4, m4] = sa("ipv4", "198.51.100.2", 443);
    expect(out.toString("latin1", 0, makeProxyLineV1(out, s4, l4, d4, m4))).toBe("PROXY TCP4 192.0.2.1 198.51.100.2 40001 443\r\n");
    const [s6, l6] = sa("ipv6", "2001:db8::1", 1);
    const [d6, m6] = sa("ipv6", "::1", 65535);
    expect(out.toString("latin1", 0, makeProxyLineV1(out, s6, l6, d6, m6))).toBe("PROXY TCP6 2001:db8::1 ::1 1 65535\r\n");
    const [su, lu] = sa("unix", "/tmp/x.sock", 0);
    expect(out.toString("latin1", 0, makeProxyLineV1(out, su, lu, su, lu))).toBe("PROXY UNKNOWN\r\n");
    expect(out.toString("latin1", 0, makeProxyLineV1(out, s4, l4, d6, m6))).toBe("PROXY UNKNOWN\r\n");
    expect(out.toString("latin1", 0, makeProxyLineV1(out, null, 0, null, 0))).toBe("PROXY UNKNOWN\r\n");
  });

  it("writes v2 PROXY blocks for inet families and LOCAL otherwise", () => {
    const [s4, l4] = sa("ipv4", "192.0.2.1", 40001);
    const [d4, m4] = sa("ipv4", "198.51.100.2", 443);
    let n = makeProxyLineV2(out, s4, l4, d4, m4);
    expect(out.subarray(0, n).toString("hex")).toBe(SIG.toString("hex") + "2111000c" + "c0000201" + "c6336402" + "9c41" + "01bb");
    const [s6, l6] = sa("ipv6", "2001:db8::1", 1);
    const [d6, m6] = sa("ipv6", "::1", 65535);
    n = makeProxyLineV2(out, s6, l6, d6, m6);
    expect(out.subarray(0, n).toString("hex")).toBe(SIG.toString("hex") + "21210024" +
      "20010db8000000000000000000000001" + "00000000000000000000000000000001" + "0001" + "ffff");
    const [su, lu] = sa("unix", "/tmp/x.sock", 0);
    n = makeProxyLineV2(out, su, lu, su, lu);
    expect(out.subarray(0, n).toString("hex")).toBe(SIG.toString("hex") + "20000000");
  });

  it("round-trips through ppParse()", () => {
    const [s, sl] = sa("ipv6", "fd00::1:2", 12345);
    const [d, dl] = sa("ipv6", "fd00::99", 80);
    for (const mk of [makeProxyLineV1, makeProxyLineV2]) {
      const n = mk(out, s, sl, d, dl);
      const h = new ProxyHeader();
      expect(ppParse(out, n, 16384, h)).toBe(n);
      expect(from(h)).toBe("ipv6 fd00::1:2 12345");
      expect(to(h)).toBe("ipv6 fd00::99 80");
    }
  });

  it("names every failure the way HAProxy 1.8 logs it", () => {
    expect(connErrCodeStr(CO_ER_PRX_NOT_HDR)).toBe("Received something which does not look like a PROXY protocol header");
    expect(connErrCodeStr(CO_ER_PRX_EMPTY)).toBe("Connection closed while waiting for PROXY protocol header");
    expect(connErrCodeStr(0)).toBeNull();
  });
});

describe("connRecvProxy() over a socketpair", () => {
  const fds: number[] = [];
  beforeAll(() => {
    initFdtab(1024);
    initBufPool(16384);
  });
  afterAll(() => {
    for (const fd of fds) native.close(fd);
  });

  function pair(): [number, number] {
    const sv = new Int32Array(2);
    expect(native.socketpair(C.SOCK_STREAM, sv)).toBe(0);
    fds.push(sv[0], sv[1]);
    return [sv[0], sv[1]];
  }

  function acceptSide(fd: number): Connection {
    const conn = new Connection();
    conn.fd = fd;
    // As session_accept_fd() leaves it: registered (conn_ctrl_init()), waiting for the header.
    conn.flags = CO_FL_ACCEPT_PROXY | CO_FL_CTRL_READY;
    fdInsert(fd, conn, () => {});
    fdMayRecv(fd);
    fdWantRecv(fd);
    return conn;
  }

  function write(fd: number, x: Buffer): void {
    expect(native.send(fd, x, 0, x.length, 0)).toBe(x.length);
  }

  it("waits across split reads, then keeps the bytes after the header in its buffer", () => {
    const [a, peer] = pair();
    const conn = acceptSide(a);
    expect(connRecvProxy(conn)).toBe(false);
    expect(fdRecvReady(a)).toBe(false); // EAGAIN: waits for the poller
    write(peer, b("PROXY TCP4 203.0.1"));
    fdMayRecv(a);
    expect(connRecvProxy(conn)).toBe(false);
    expect(conn.flags & CO_FL_ERROR).toBe(0);
    write(peer, b("13.5 198.51.100.1 5555 80\r\nHELLO"));
    fdMayRecv(a);
    expect(connRecvProxy(conn)).toBe(true);
    expect(conn.flags & (CO_FL_ACCEPT_PROXY | CO_FL_RCVD_PROXY | CO_FL_ADDR_TO_SET)).toBe(CO_FL_RCVD_PROXY | CO_FL_ADDR_TO_SET);
    expect(native.sockaddrInfo(conn.addr!, conn.addrLen)).toEqual({ family: "ipv4", address: "203.0.113.5", port: 5555 });
    expect(native.sockaddrInfo(conn.toAddr!, conn.toAddrLen)).toEqual({ family: "ipv4", address: "198.51.100.1", port: 80 });
    expect(conn.hsBuf!.toString("latin1", conn.hsHdrLen, conn.hsLen)).toBe("HELLO");
    bFree(conn.hsBuf!);
  });

  it("fails with EMPTY on a close before any byte and TRUNCATED on a close mid-header", () => {
    let [a, peer] = pair();
    let conn = acceptSide(a);
    native.shutdown(peer, C.SHUT_WR);
    expect(connRecvProxy(conn)).toBe(false);
    expect(conn.flags & CO_FL_ERROR).toBe(CO_FL_ERROR);
    expect(conn.errCode).toBe(CO_ER_PRX_EMPTY);
    bFree(conn.hsBuf!);
    [a, peer] = pair();
    conn = acceptSide(a);
    write(peer, b("PROXY TCP4 1.2.3.4"));
    native.shutdown(peer, C.SHUT_WR);
    expect(connRecvProxy(conn)).toBe(false);
    expect(conn.errCode).toBe(CO_ER_PRX_TRUNCATED);
    bFree(conn.hsBuf!);
  });

  it("fails at once on garbage, without waiting for more bytes", () => {
    const [a, peer] = pair();
    const conn = acceptSide(a);
    write(peer, b("SSH-2.0-OpenSSH_9.2\r\n"));
    expect(connRecvProxy(conn)).toBe(false);
    expect(conn.flags & CO_FL_ERROR).toBe(CO_FL_ERROR);
    expect(conn.errCode).toBe(CO_ER_PRX_NOT_HDR);
    bFree(conn.hsBuf!);
  });
});

describe("connSendProxy() with partial writes", () => {
  beforeAll(() => initFdtab(1024));
  afterEach(() => vi.restoreAllMocks());

  function clientConn(): Connection {
    const cli = new Connection();
    [cli.addr, cli.addrLen] = sa("ipv4", "203.0.113.77", 41000);
    [cli.toAddr, cli.toAddrLen] = sa("ipv4", "192.0.2.10", 8080);
    cli.flags |= CO_FL_ADDR_TO_SET;
    return cli;
  }

  function serverConn(fd: number, version: number): Connection {
    const conn = new Connection();
    conn.fd = fd;
    // As tcp_connect_server() leaves it: registered (conn_ctrl_init()), connecting, header to send.
    conn.flags = CO_FL_WAIT_L4_CONN | CO_FL_SEND_PROXY | CO_FL_CTRL_READY;
    conn.sendProxyOfs = 1;
    conn.ppVersion = version;
    conn.ppRemote = clientConn();
    fdInsert(fd, conn, () => {});
    fdMaySend(fd);
    fdWantSend(fd);
    return conn;
  }

  /** Make native.send() take at most the next budget of <plan> per call (-11 = EAGAIN). */
  function plan(steps: number[]): Buffer[] {
    const wire: Buffer[] = [];
    const EAGAIN = -require("node:os").constants.errno.EAGAIN;
    vi.spyOn(native, "send").mockImplementation((_fd: number, buf: Buffer, off: number, len: number) => {
      const step = steps.shift();
      if (step === undefined || step < 0) return EAGAIN;
      const n = Math.min(step, len);
      wire.push(Buffer.from(buf.subarray(off, off + n)));
      return n;
    });
    return wire;
  }

  it("sends a v1 line in three pieces across calls, and only then reports the connection up", () => {
    const conn = serverConn(900, 1);
    const wire = plan([7, -1, 10, -1, 1000]);
    // HAProxy 1.8's conn_si_send_proxy(): one send() per call; a partial one waits for the next.
    expect(connSendProxy(conn)).toBe(false);
    expect(fdSendReady(900)).toBe(true);
    expect(connSendProxy(conn)).toBe(false);
    expect(fdSendReady(900)).toBe(false);
    expect(conn.flags & CO_FL_WAIT_L4_CONN).toBe(CO_FL_WAIT_L4_CONN);
    fdMaySend(900);
    expect(connSendProxy(conn)).toBe(false);
    expect(connSendProxy(conn)).toBe(false);
    expect(fdSendReady(900)).toBe(false);
    fdMaySend(900);
    expect(connSendProxy(conn)).toBe(true);
    expect(conn.flags & (CO_FL_WAIT_L4_CONN | CO_FL_SEND_PROXY)).toBe(0);
    expect(conn.sendProxyOfs).toBe(0);
    expect(wire.map((x) => x.length).slice(0, 2)).toEqual([7, 10]);
    expect(Buffer.concat(wire).toString("latin1")).toBe("PROXY TCP4 203.0.113.77 192.0.2.10 41000 8080\r\n");
  });

  it("sends a v2 block one byte at a time", () => {
    const conn = serverConn(901, 2);
    const wire = plan(Array.from({ length: 28 }, () => 1));
    // One byte per call: 27 calls leave the rest for later, the 28th completes the header.
    for (let i = 0; i < 27; i++) expect(connSendProxy(conn)).toBe(false);
    expect(connSendProxy(conn)).toBe(true);
    expect(wire.length).toBe(28);
    expect(Buffer.concat(wire).toString("hex")).toBe(SIG.toString("hex") + "2111000c" + "cb00714d" + "c000020a" + "a028" + "1f90");
  });

  it("reports a send error as a connection error", () => {
    const conn = serverConn(902, 1);
    vi.spyOn(native, "send").mockReturnValue(-require("node:os").constants.errno.ECONNREFUSED);
    expect(connSendProxy(conn)).toBe(false);
    expect(conn.flags & CO_FL_ERROR).toBe(CO_FL_ERROR);
    expect(conn.flags & CO_FL_SEND_PROXY).toBe(CO_FL_SEND_PROXY);
  });
});
