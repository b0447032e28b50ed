import { describe, it, expect } from "vitest";
import {
  isIPv4Literal,
  isIPv6Literal,
  isParseError,
  isValidHostname,
  parseSize,
  parseTime,
  str2saRange,
  type Str2saOptions,
} from "../../src/config/address";
import type { ParsedAddress } from "../../src/config/types";

const ANY: Str2saOptions = { allowPortRange: true, allowPortOffset: true };
const BIND: Str2saOptions = { portRequired: true, allowPortRange: true, allowPortOffset: false, kw: "bind" };

describe("str2saRange() accepts every address form of HAProxy 1.8", () => {
  const cases: [string, Str2saOptions, Partial<ParsedAddress>][] = [
    [":3307", BIND, { family: "ipv4", host: "0.0.0.0", portLow: 3307, portHigh: 3307, hasPort: true, familyForced: false }],
    ["*:80", BIND, { family: "ipv4", host: "0.0.0.0", portLow: 80, hasPort: true }],
    ["1.2.3.4:80", BIND, { family: "ipv4", host: "1.2.3.4", portLow: 80, portHigh: 80, needsResolve: false }],
    ["[::1]:80", BIND, { family: "ipv6", host: "::1", portLow: 80 }],
    ["[::1]", ANY, { family: "ipv6", host: "::1", hasPort: false, portLow: 0, portHigh: 0 }],
    ["::1:", ANY, { family: "ipv6", host: "::1", hasPort: false }],
    [":::80", BIND, { family: "ipv6", host: "::", portLow: 80 }],
    ["ipv6@::1:80", BIND, { family: "ipv6", host: "::1", portLow: 80, familyForced: true }],
    ["ipv6@:80", BIND, { family: "ipv6", host: "::", portLow: 80 }],
    ["ipv4@:80", BIND, { family: "ipv4", host: "0.0.0.0", familyForced: true }],
    ["ipv4@*:80", BIND, { family: "ipv4", host: "0.0.0.0" }],
    ["[1.2.3.4]:80", ANY, { family: "ipv4", host: "1.2.3.4" }],
    ["::ffff:1.2.3.4:", ANY, { family: "ipv6", host: "::ffff:1.2.3.4" }],
    ["unix@/tmp/s", BIND, { family: "unix", host: "/tmp/s", hasPort: false, familyForced: true }],
    ["unix@rel/path", BIND, { family: "unix", host: "rel/path" }],
    ["/tmp/s", BIND, { family: "unix", host: "/tmp/s" }],
    ["abns@hapoll", BIND, { family: "abns", host: "hapoll" }],
    ["fd@3", BIND, { family: "fd", host: "3", hasPort: false }],
    ["localhost:80", BIND, { family: "ipv4", host: "localhost", needsResolve: true, familyForced: false }],
    ["ipv6@db.example.com:5432", ANY, { family: "ipv6", host: "db.example.com", needsResolve: true, familyForced: true }],
    ["_mysql._tcp.example.com", ANY, { host: "_mysql._tcp.example.com", needsResolve: true, hasPort: false }],
    ["1.2.3.4", ANY, { family: "ipv4", host: "1.2.3.4", hasPort: false, portLow: 0 }],
    ["1.2.3.4:", ANY, { hasPort: false }],
    ["1.2.3.4:0", ANY, { hasPort: false, portLow: 0 }],
    ["1.2.3.4:+5", ANY, { portOffset: true, portLow: 5, portHigh: 5, hasPort: true }],
    ["1.2.3.4:-5", ANY, { portOffset: true, portLow: -5, portHigh: -5 }],
    ["1.2.3.4:80-90", BIND, { portLow: 80, portHigh: 90, portOffset: false }],
    ["1.2.3.4:65535", BIND, { portLow: 65535 }],
  ];
  for (const [input, opts, want] of cases) {
    it(`parses ${JSON.stringify(input)}`, () => {
      const r = str2saRange(input, opts);
      expect(isParseError(r)).toBe(false);
      expect(r).toMatchObject({ ...want, raw: input });
    });
  }

  it("returns every field of ParsedAddress", () => {
    expect(str2saRange("10.0.0.1:8080", BIND)).toEqual({
      family: "ipv4",
      host: "10.0.0.1",
      needsResolve: false,
      familyForced: false,
      portLow: 8080,
      portHigh: 8080,
      portOffset: false,
      hasPort: true,
      raw: "10.0.0.1:8080",
    });
  });
});

describe("str2saRange() reports HAProxy's errors", () => {
  const cases: [string, Str2saOptions, string][] = [
    ["1.2.3.4", BIND, "missing port number: '1.2.3.4'"],
    ["*", BIND, "missing port number: '*'"],
    ["1.2.3.4:0", BIND, "missing port number: '1.2.3.4:0'"],
    [":+5", BIND, "port offsets are not allowed in 'bind': ':+5'"],
    [":-5", BIND, "port offsets are not allowed in 'bind': ':-5'"],
    [":+5", {}, "port offsets are not allowed in ':+5'"],
    [":80-90", {}, "port ranges are not allowed in ':80-90'"],
    [":70000", BIND, "invalid port '70000' specified for address ':70000'."],
    [":80-70000", BIND, "invalid port '70000' specified for address ':80-70000'."],
    [":0-5", BIND, "invalid port '0' specified for address ':0-5'."],
    [":+70000", ANY, "invalid port '70000' specified for address ':+70000'."],
    [":90-80", BIND, "invalid port range '90-80' specified for address ':90-80'."],
    [":80-", BIND, "invalid port '80-' specified for address ':80-'."],
    [":80x", BIND, "invalid character 'x' in port number '80x' in ':80x'"],
    [":http", BIND, "invalid character 'h' in port number 'http' in ':http'"],
    [":+x", ANY, "invalid character 'x' in port number '+x' in ':+x'"],
    ["::1", ANY, "invalid address: ':' in '::1'"],
    ["foo bar:80", ANY, "invalid address: 'foo bar' in 'foo bar:80'"],
    ["[::1:80", ANY, "invalid address: '[::1' in '[::1:80'"],
    ["[]:80", ANY, "invalid address: '[]' in '[]:80'"],
    ["ipv4@::1:80", ANY, "invalid address: '::1' in 'ipv4@::1:80'"],
    ["ipv4@:::80", ANY, "invalid address: '::' in 'ipv4@:::80'"],
    ["fe80::1%eth0:", ANY, "invalid address: 'fe80::1%eth0' in 'fe80::1%eth0:'"],
    ["fd@x", ANY, "file descriptor 'x' is not a valid integer in 'fd@x'"],
    ["fd@", ANY, "file descriptor '' is not a valid integer in 'fd@'"],
    ["", ANY, "'' resolves to an empty address (environment variable missing?)"],
    ["unix@", ANY, "empty socket path in 'unix@'"],
    ["/" + "a".repeat(107), ANY, `socket path '/${"a".repeat(107)}' too long (max 107)`],
  ];
  for (const [input, opts, error] of cases) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      expect(str2saRange(input, opts)).toEqual({ error });
    });
  }

  it("accepts a unix path of exactly 107 bytes", () => {
    expect(isParseError(str2saRange("/" + "a".repeat(106), ANY))).toBe(false);
  });
});

describe("literal and host name checks", () => {
  const v4: [string, boolean][] = [
    ["1.2.3.4", true],
    ["255.255.255.255", true],
    ["0.0.0.0", true],
    ["256.1.1.1", false],
    ["01.2.3.4", false],
    ["1.2.3", false],
    ["1.2.3.4.5", false],
    ["a.b.c.d", false],
  ];
  for (const [s, ok] of v4) it(`isIPv4Literal(${s}) is ${ok}`, () => expect(isIPv4Literal(s)).toBe(ok));

  const v6: [string, boolean][] = [
    ["::", true],
    ["::1", true],
    ["2001:db8::1", true],
    ["::ffff:1.2.3.4", true],
    ["fe80::1%eth0", false],
    ["1.2.3.4", false],
    [":", false],
  ];
  for (const [s, ok] of v6) it(`isIPv6Literal(${s}) is ${ok}`, () => expect(isIPv6Literal(s)).toBe(ok));

  const names: [string, boolean][] = [
    ["localhost", true],
    ["db-1.example.com", true],
    ["_srv._tcp.example", true],
    ["a".repeat(63) + ".com", true],
    ["a".repeat(64) + ".com", false],
    ["x".repeat(256), false],
    ["foo bar", false],
    ["foo/bar", false],
    ["", false],
  ];
  for (const [s, ok] of names) it(`isValidHostname(${s.slice(0, 20)}...) is ${ok}`, () => expect(isValidHostname(s)).toBe(ok));
});

describe("parseTime() converts HAProxy time values", () => {
  const ok: [string, number][] = [
    ["5000", 5000],
    ["0", 0],
    ["", 0],
    ["5ms", 5],
    ["5s", 5000],
    ["1500us", 2],
    ["1us", 1],
    ["0us", 0],
    ["1m", 60000],
    ["10mn", 600000],
    ["2h", 7200000],
    ["1d", 86400000],
    ["24d", 2073600000],
    ["5sx", 5000],
    ["2147483647", 2147483647],
  ];
  for (const [s, v] of ok) it(`parseTime(${JSON.stringify(s)}) = ${v}`, () => expect(parseTime(s)).toBe(v));

  it("converts to other units, rounding up", () => {
    expect(parseTime("1500ms", "s")).toBe(2);
    expect(parseTime("90", "s")).toBe(90);
    expect(parseTime("1m", "s")).toBe(60);
    expect(parseTime("1s", "us")).toBe(1000000);
    expect(parseTime("61s", "m")).toBe(2);
  });

  const bad: [string, string][] = [
    ["abc", "abc"],
    ["-5", "-5"],
    ["5x", "x"],
    ["5u", "u"],
    ["5 s", " s"],
  ];
  for (const [s, at] of bad) {
    it(`parseTime(${JSON.stringify(s)}) reports the unexpected character`, () => {
      expect(parseTime(s)).toEqual({ error: `unexpected character '${at[0]}'`, at, overflow: false });
    });
  }

  it("reports an overflow above 2^31-1 ms", () => {
    expect(parseTime("30d")).toEqual({
      error: "timer overflow in argument '30d' (maximum value is 2147483647 ms or ~24.8 days)",
      at: "",
      overflow: true,
    });
    expect(parseTime("2147483648")).toMatchObject({ overflow: true });
  });
});

describe("parseSize() reads k/m/g suffixes", () => {
  const ok: [string, number][] = [
    ["12", 12],
    ["16k", 16384],
    ["16K", 16384],
    ["1m", 1048576],
    ["3G", 3221225472],
    ["4294967295", 4294967295],
  ];
  for (const [s, v] of ok) it(`parseSize(${s}) = ${v}`, () => expect(parseSize(s)).toBe(v));

  const bad: [string, string, boolean][] = [
    ["12kb", "b", false],
    ["x", "x", false],
    ["4g", "g", true],
    ["4294967296", "6", true],
  ];
  for (const [s, at, overflow] of bad) {
    it(`parseSize(${s}) fails at '${at}'`, () => {
      expect(parseSize(s)).toMatchObject({ at, overflow });
    });
  }
});

describe("envExpand() (HAProxy env_expand(): every address, quoted or not)", () => {
  it("expands $NAME and ${NAME}, unset variables to nothing, an unclosed ${ still", async () => {
    const { envExpand, str2saRange } = await import("../../src/config/address");
    const env = { PORT: "8080", ADDR: "10.0.0.1" };
    expect(envExpand("127.0.0.1:${PORT}", env)).toBe("127.0.0.1:8080");
    expect(envExpand("$ADDR:80", env)).toBe("10.0.0.1:80");
    expect(envExpand("${NOPE}x$", env)).toBe("x");
    expect(envExpand("${PORT", env)).toBe("8080");
    const a = str2saRange("$ADDR:${PORT}", { env });
    expect(a).toMatchObject({ host: "10.0.0.1", portLow: 8080 });
  });
});
