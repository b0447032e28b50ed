/**
 * A small client for hapoll's stats socket, for the e2e tests (the tests are not the proxy, so
 * they use node:net). `cliQuery()` is what `echo "show info" | socat - /path` does; `CliConn` is an
 * interactive session (prompt mode).
 */
import * as net from "node:net";
import { onCleanup } from "./helpers";

/** Where a stats socket listens: a unix path, or a TCP port on 127.0.0.1. */
export type CliTarget = { path: string } | { port: number; host?: string };

/** A connection to <t>, destroyed by helpers.ts' cleanup() (the harness's one cleanup list). */
function connect(t: CliTarget): net.Socket {
  const o: net.NetConnectOpts = "path" in t ? { path: t.path } : { port: t.port, host: t.host ?? "127.0.0.1" };
  const s = net.connect({ ...o, allowHalfOpen: true } as net.NetConnectOpts);
  onCleanup(() => s.destroy());
  return s;
}

/** Options of cliQuery(). */
export interface CliQueryOptions {
  /** Half-close after sending, as socat does at the end of its input (default true). */
  halfClose?: boolean;
  timeoutMs?: number;
}

/**
 * Send <text> on a new connection and return everything received until the server closed it.
 * Rejects on timeout (the answer so far is in the message).
 */
export function cliQuery(t: CliTarget, text: string, o: CliQueryOptions = {}): Promise<string> {
  const ms = o.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const s = connect(t);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`stats socket did not close within ${ms} ms; got: ${JSON.stringify(Buffer.concat(chunks).toString())}`));
    }, ms);
    s.on("connect", () => {
      if (o.halfClose === false) s.write(text);
      else s.end(text);
    });
    s.on("data", (d) => chunks.push(d));
    s.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    // The server closing its side ends the answer (the socket is half-open: finish it here).
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(chunks).toString());
    };
    s.on("end", done);
    s.on("close", done);
  });
}

/** An interactive stats socket connection. */
export class CliConn {
  readonly sock: net.Socket;
  private buf = "";
  private pos = 0;
  closed = false;
  closedAt = 0;
  error: Error | null = null;
  readonly ready: Promise<void>;

  constructor(t: CliTarget) {
    this.sock = connect(t);
    this.ready = new Promise((resolve, reject) => {
      this.sock.once("connect", () => resolve());
      this.sock.once("error", reject);
    });
    this.sock.on("data", (d) => (this.buf += d.toString()));
    this.sock.on("error", (e) => (this.error = e));
    // The server closing its side (FIN) closes the session: finish the half-open socket.
    const done = () => {
      if (this.closed) return;
      this.closed = true;
      this.closedAt = Date.now();
      this.sock.destroy();
    };
    this.sock.on("end", done);
    this.sock.on("close", done);
  }

  send(text: string): void {
    this.sock.write(text);
  }

  /** Everything received so far. */
  all(): string {
    return this.buf;
  }

  /**
   * Wait until the data received since the previous read ends with <suffix> (e.g. the prompt
   * "\n> "), and return it.
   */
  async readUntil(suffix: string, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!this.buf.slice(this.pos).endsWith(suffix)) {
      if (this.closed || Date.now() > deadline) {
        throw new Error(`no ${JSON.stringify(suffix)} (closed=${this.closed}); got ${JSON.stringify(this.buf.slice(this.pos))}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const out = this.buf.slice(this.pos);
    this.pos = this.buf.length;
    return out;
  }

  /** Resolve when the server has closed the connection (false after <ms>). */
  async waitClosed(ms = 5000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.closed;
  }
}

/** `show stat` parsed by column name: one record per row, keyed "pxname/svname". */
export interface StatTable {
  header: string[];
  rows: Record<string, string>[];
  get(px: string, sv: string): Record<string, string>;
}

/** Parse HAProxy's `show stat` CSV (header "# a,b,...," and rows ending with a comma). */
export function parseStat(text: string): StatTable {
  const lines = text.split("\n").filter((l) => l !== "");
  if (!lines[0]?.startsWith("# ")) throw new Error(`not a show stat answer: ${JSON.stringify(text.slice(0, 200))}`);
  const header = lines[0].slice(2).split(",");
  if (header.pop() !== "") throw new Error("the header must end with a comma");
  const rows = lines.slice(1).map((l) => {
    if (!l.endsWith(",")) throw new Error(`row without a final comma: ${l}`);
    const f = splitCsv(l.slice(0, -1));
    if (f.length !== header.length) throw new Error(`row has ${f.length} fields, header ${header.length}: ${l}`);
    return Object.fromEntries(header.map((h, i) => [h, f[i]]));
  });
  return {
    header,
    rows,
    get(px: string, sv: string) {
      const r = rows.find((x) => x.pxname === px && x.svname === sv);
      if (!r) throw new Error(`no row ${px}/${sv} in ${rows.map((x) => `${x.pxname}/${x.svname}`).join(" ")}`);
      return r;
    },
  };
}

/** Split one CSV line (fields may be quoted with "" for a quote). */
function splitCsv(l: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let v = "";
    if (l[i] === '"') {
      i++;
      for (;;) {
        if (l[i] === '"' && l[i + 1] === '"') {
          v += '"';
          i += 2;
        } else if (l[i] === '"') {
          i++;
          break;
        } else v += l[i++];
      }
    } else {
      while (i < l.length && l[i] !== ",") v += l[i++];
    }
    out.push(v);
    if (i >= l.length) return out;
    i++; // the comma
  }
}

/** `show info` parsed into a map, keys in order. */
export function parseInfo(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of text.split("\n")) {
    if (!l) continue;
    const i = l.indexOf(": ");
    if (i < 0) throw new Error(`bad show info line: ${l}`);
    m.set(l.slice(0, i), l.slice(i + 2));
  }
  return m;
}
