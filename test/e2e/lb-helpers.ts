/**
 * Helpers for the load-balancing and health-check e2e suites: named backends that tell the client
 * who served it, a backend config builder, sequential and held clients, and a way to kill and
 * restart a backend on the same port. Everything opened here is registered with helpers.ts' `onCleanup()`.
 */
import * as net from "node:net";
import { freePort, onCleanup, sleep } from "./helpers";

/**
 * A backend that writes "<name>\n" to each connection and then echoes; the client learns which
 * server it reached. Health-check connections (closed at once with a RST) are tolerated.
 */
export interface NamedServer {
  name: string;
  port: number;
  /** Connections accepted since start (including health checks). */
  accepted: () => number;
  /** Stop listening and reset every open connection (a crashed server). */
  kill: () => Promise<void>;
  /** Stop listening but keep the open connections (new connections are refused). */
  stopListening: () => Promise<void>;
  /** Listen again on the same port. */
  restart: () => Promise<void>;
  /** Whether it currently listens. */
  up: () => boolean;
}

/** Start a named server on 127.0.0.1 (a free port, or <port>). */
export async function namedServer(name: string, port = 0): Promise<NamedServer> {
  let accepted = 0;
  let srv: net.Server | null = null;
  const socks = new Set<net.Socket>();
  const p = port || (await freePort());
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer({ allowHalfOpen: true }, (c) => {
        accepted++;
        socks.add(c);
        c.on("error", () => {});
        c.on("close", () => socks.delete(c));
        c.write(`${name}\n`);
        c.pipe(c);
      });
      s.once("error", reject);
      s.listen(p, "127.0.0.1", () => {
        srv = s;
        resolve();
      });
    });
  await listen();
  const kill = async () => {
    const s = srv;
    srv = null;
    for (const c of socks) c.resetAndDestroy();
    socks.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  const stopListening = async () => {
    const s = srv;
    srv = null;
    // close() stops accepting at once; its callback would wait for the open connections to end.
    if (s) s.close();
    await sleep(20);
  };
  onCleanup(() => {
    void kill();
  });
  return { name, port: p, accepted: () => accepted, kill, stopListening, restart: listen, up: () => srv !== null };
}

/** <n> named servers s1..sn. */
export async function namedServers(n: number, prefix = "s"): Promise<NamedServer[]> {
  const out: NamedServer[] = [];
  for (let i = 1; i <= n; i++) out.push(await namedServer(`${prefix}${i}`));
  return out;
}

/** One `server` line of lbConfig(). */
export interface LbServer {
  name: string;
  port: number;
  /** Server options: "weight 2 check inter 200 backup ...". */
  opts?: string;
}

/** Options of lbConfig(). */
export interface LbConfigOptions {
  /** Frontend port on 127.0.0.1. */
  port: number;
  balance?: string;
  servers: LbServer[];
  /** Extra lines for the backend section. */
  backend?: string[];
  /** Extra lines for the defaults section (e.g. "timeout queue 300"). */
  defaults?: string[];
  /** Log to stdout (`log stdout format raw local0`, `option tcplog`). */
  log?: boolean;
}

/**
 * A frontend "fe" on 127.0.0.1:<port> with `default_backend be`, and backend "be". Valid for
 * hapoll and for HAProxy 2.x alike (timeouts with `timeout` keywords).
 */
export function lbConfig(o: LbConfigOptions): string {
  const lines = [
    "global",
    "    maxconn 200",
    ...(o.log ? ["    log stdout format raw local0"] : []),
    "defaults",
    "    mode tcp",
    ...(o.log ? ["    log global", "    option tcplog"] : []),
    "    timeout connect 2s",
    "    timeout client 10s",
    "    timeout server 10s",
    ...(o.defaults ?? []).map((l) => `    ${l}`),
    "frontend fe",
    `    bind 127.0.0.1:${o.port}`,
    "    default_backend be",
    "backend be",
    ...(o.balance ? [`    balance ${o.balance}`] : []),
    ...(o.backend ?? []).map((l) => `    ${l}`),
    ...o.servers.map((s) => `    server ${s.name} 127.0.0.1:${s.port}${s.opts ? " " + s.opts : ""}`),
    "",
  ];
  return lines.join("\n");
}

/**
 * Connect to 127.0.0.1:<port> (from <localAddress> if given), read the server's name line, close.
 * Resolves with the name, or "-" when the proxy closed without a server answering.
 */
export function fetchName(port: number, localAddress?: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    let d = "";
    const c = net.connect({ port, host: "127.0.0.1", localAddress });
    const t = setTimeout(() => {
      c.destroy();
      resolve("timeout");
    }, timeoutMs);
    c.on("data", (x) => {
      d += x;
      if (d.includes("\n")) c.end();
    });
    c.on("error", () => {});
    c.on("close", () => {
      clearTimeout(t);
      resolve(d.split("\n")[0] || "-");
    });
  });
}

/** <n> sequential fetchName() calls: the order in which servers were picked. */
export async function fetchNames(port: number, n: number, localAddress?: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await fetchName(port, localAddress));
  return out;
}

/** How many times each name occurs. */
export function tally(names: string[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const n of names) t[n] = (t[n] ?? 0) + 1;
  return t;
}

/** A client connection kept open. */
export interface HeldClient {
  sock: net.Socket;
  /** Resolves with the server name once received ("-" if the proxy closed first). */
  name: Promise<string>;
  /** Resolves with Date.now() when the socket closes. */
  closed: Promise<number>;
  localPort: () => number;
  close: () => void;
}

/** Open a connection and keep it open (its name line is captured). */
export function holdClient(port: number, localAddress?: string): HeldClient {
  const sock = net.connect({ port, host: "127.0.0.1", localAddress, allowHalfOpen: true });
  let d = "";
  let lport = 0;
  sock.on("connect", () => (lport = sock.localPort ?? 0));
  const name = new Promise<string>((resolve) => {
    sock.on("data", (x) => {
      d += x;
      if (d.includes("\n")) resolve(d.split("\n")[0]);
    });
    // The proxy's FIN (the client is half-open): no server answered, or the server left.
    sock.on("end", () => {
      resolve(d.split("\n")[0] || "-");
      sock.end();
    });
    sock.on("close", () => resolve(d.split("\n")[0] || "-"));
  });
  const closed = new Promise<number>((r) => sock.on("close", () => r(Date.now())));
  sock.on("error", () => {});
  onCleanup(() => sock.destroy());
  return { sock, name, closed, localPort: () => lport, close: () => sock.destroy() };
}

/** Open <n> held clients one after the other, each once the previous one got its server. */
export async function holdClients(port: number, n: number): Promise<HeldClient[]> {
  const out: HeldClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = holdClient(port);
    await c.name;
    out.push(c);
  }
  return out;
}

/** Poll <fn> until it is true or <ms> pass; returns the elapsed ms, or -1 on timeout. */
export async function waitUntil(fn: () => boolean, ms: number, step = 10): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (fn()) return Date.now() - t0;
    if (Date.now() - t0 > ms) return -1;
    await sleep(step);
  }
}

/** Lines of <text> matching <re>. */
export function linesMatching(text: string, re: RegExp): string[] {
  return text.split("\n").filter((l) => re.test(l));
}
