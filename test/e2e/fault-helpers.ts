/**
 * Helpers for the fault-injection, soak and security e2e suites: byte-exact transfers with an
 * outcome per connection, an echo backend whose connections can be told to reset mid-stream, a
 * backend in a child process (to SIGKILL it), hapoll's fd/RSS baselines, and a reliability record
 * per scenario (JSON lines in $HAPOLL_RELIABILITY_OUT, rendered into docs/reliability.md by
 * scripts/reliability-report.js). Everything opened here is registered with helpers.ts' `onCleanup()`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fdCount, onCleanup, randomBytes, rssKiB, sleep } from "./helpers";

/* ------------------------------------------------------------------------------------------------ */
/* Transfers                                                                                         */
/* ------------------------------------------------------------------------------------------------ */

/** How a transfer ended. "hung" is a failure in every scenario. */
export type Outcome = "ok" | "short" | "reset" | "refused" | "error" | "hung";

/** One client connection: what it sent, what came back, how it ended. */
export interface Transfer {
  id: number;
  sent: number;
  received: Buffer;
  outcome: Outcome;
  error: string;
  /** Received bytes equal to the first bytes sent (an echo never invents or reorders bytes). */
  prefixOk: boolean;
  ms: number;
}

/** Payload of transfer <id>: an 8-byte tag "#0000042" the backends read, then seeded random bytes. */
export function payloadFor(id: number, size: number): Buffer {
  const b = randomBytes(Math.max(size, 8), 0x5eed ^ (id * 2654435761));
  b.write(`#${String(id).padStart(7, "0")}`, 0, "latin1");
  return b.subarray(0, Math.max(size, 8));
}

/** Options of transfer(). */
export interface TransferOptions {
  /** Give up (outcome "hung") after this long. */
  deadlineMs?: number;
  /** Bytes per write; a pause of <gapMs> between writes (slow senders). */
  chunk?: number;
  gapMs?: number;
  /** Half-close once everything is written (default true). */
  halfClose?: boolean;
  /** Reset the connection (RST) once this many bytes came back. */
  resetAfterReceived?: number;
  /** Called with the socket once connected (fault injection from the test). */
  onConnect?: (s: net.Socket) => void;
}

/**
 * Connect to 127.0.0.1:<port>, send payloadFor(id, size) with back-pressure, half-close, and collect
 * the echo until the connection closes. Never rejects: the outcome says what happened.
 */
export function transfer(port: number, id: number, size: number, o: TransferOptions = {}): Promise<Transfer> {
  const payload = payloadFor(id, size);
  const t0 = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    let err = "";
    let done = false;
    let resetByUs = false;
    const s = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    onCleanup(() => s.destroy());
    const finish = (hung: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const received = Buffer.concat(chunks);
      const prefixOk = received.length <= payload.length && received.equals(payload.subarray(0, received.length));
      let outcome: Outcome;
      if (hung) outcome = "hung";
      else if (received.length === payload.length && prefixOk && !err) outcome = "ok";
      else if (/ECONNREFUSED/.test(err)) outcome = "refused";
      else if (resetByUs || /ECONNRESET|EPIPE/.test(err)) outcome = "reset";
      else if (err) outcome = "error";
      else outcome = "short";
      s.destroy();
      resolve({ id, sent: payload.length, received, outcome, error: err, prefixOk, ms: Date.now() - t0 });
    };
    const timer = setTimeout(() => finish(true), o.deadlineMs ?? 20_000);
    s.on("data", (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (o.resetAfterReceived !== undefined && got >= o.resetAfterReceived && !resetByUs) {
        resetByUs = true;
        s.resetAndDestroy();
        finish(false);
      }
    });
    s.on("error", (e: Error & { code?: string }) => (err = e.code ?? e.message));
    s.on("end", () => {
      // the proxy's FIN: everything is in (we have half-closed too, or will be closed)
      s.end();
    });
    s.on("close", () => finish(false));
    s.on("connect", async () => {
      o.onConnect?.(s);
      const chunk = o.chunk ?? 64 * 1024;
      for (let off = 0; off < payload.length && !s.destroyed; off += chunk) {
        if (!s.write(payload.subarray(off, off + chunk))) {
          await new Promise<void>((r) => {
            const go = () => {
              s.off("drain", go);
              s.off("close", go);
              r();
            };
            s.on("drain", go);
            s.on("close", go);
          });
        }
        if (o.gapMs) await sleep(o.gapMs);
      }
      if (!s.destroyed && o.halfClose !== false) s.end();
    });
  });
}

/** Totals of a batch of transfers. */
export interface Tally {
  connections: number;
  ok: number;
  /** Bytes of completed transfers, compared byte for byte with what was sent. */
  bytesVerified: number;
  /** Bytes of cut transfers, verified as an exact prefix of what was sent. */
  prefixBytesVerified: number;
  byOutcome: Record<Outcome, number>;
  /** Transfers whose data was not an exact prefix of what was sent (corruption). */
  corrupt: number;
}

export function tallyTransfers(ts: Transfer[]): Tally {
  const byOutcome: Record<Outcome, number> = { ok: 0, short: 0, reset: 0, refused: 0, error: 0, hung: 0 };
  let bytesVerified = 0;
  let prefix = 0;
  let corrupt = 0;
  for (const t of ts) {
    byOutcome[t.outcome]++;
    if (!t.prefixOk) corrupt++;
    else if (t.outcome === "ok") bytesVerified += t.received.length;
    else prefix += t.received.length;
  }
  return { connections: ts.length, ok: byOutcome.ok, bytesVerified, prefixBytesVerified: prefix, byOutcome, corrupt };
}

/* ------------------------------------------------------------------------------------------------ */
/* Backends                                                                                          */
/* ------------------------------------------------------------------------------------------------ */

/** An in-process echo backend whose connections can be reset mid-stream by transfer id. */
export interface FaultBackend {
  port: number;
  server: net.Server;
  accepted: () => number;
  live: () => number;
  resets: () => number;
}

/**
 * Echo backend. <resetAfter>(id) returns how many bytes to echo before resetting the connection of
 * transfer <id> with socket.resetAndDestroy() (RST), or -1 to echo everything and close cleanly.
 */
export async function faultBackend(resetAfter: (id: number) => number = () => -1): Promise<FaultBackend> {
  let accepted = 0;
  let resets = 0;
  const live = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    accepted++;
    live.add(s);
    s.on("close", () => live.delete(s));
    s.on("error", () => {});
    let head = "";
    let limit = -2;
    let echoed = 0;
    s.on("data", (d: Buffer) => {
      if (limit === -2) {
        head += d.subarray(0, 8).toString("latin1");
        if (head.length >= 8) limit = /^#\d{7}/.test(head) ? resetAfter(Number(head.slice(1, 8))) : -1;
      }
      if (limit >= 0 && echoed + d.length >= limit) {
        s.write(d.subarray(0, Math.max(0, limit - echoed)));
        resets++;
        s.resetAndDestroy();
        return;
      }
      echoed += d.length;
      if (!s.write(d)) {
        s.pause();
        s.once("drain", () => s.resume());
      }
    });
    s.on("end", () => s.end());
  });
  server.on("error", () => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", 1024, r));
  onCleanup(() => {
    for (const s of live) s.destroy();
    server.close();
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    server,
    accepted: () => accepted,
    live: () => live.size,
    resets: () => resets,
  };
}

const CHILD_ECHO = `
const net = require("net");
const port = Number(process.argv[1]);
const srv = net.createServer({ allowHalfOpen: true }, (s) => { s.on("error", () => {}); s.pipe(s); });
srv.listen(port, "127.0.0.1", 1024, () => process.stdout.write("ready\\n"));
`;

/** An echo backend in a child node process on <port> (to be killed with SIGKILL). */
export async function childBackend(port: number): Promise<{ proc: ChildProcess; kill: () => Promise<void> }> {
  const proc = spawn(process.execPath, ["-e", CHILD_ECHO, String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  onCleanup(() => proc.kill("SIGKILL"));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("child backend did not start")), 10_000);
    proc.stdout!.on("data", (d) => {
      if (String(d).includes("ready")) {
        clearTimeout(t);
        resolve();
      }
    });
    proc.once("exit", (c) => reject(new Error(`child backend exited ${c}`)));
  });
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  return {
    proc,
    kill: async () => {
      proc.kill("SIGKILL");
      await exited;
    },
  };
}

/* ------------------------------------------------------------------------------------------------ */
/* Baselines and the reliability record                                                             */
/* ------------------------------------------------------------------------------------------------ */

/** Median RSS (KiB) of a few samples <gapMs> apart. */
export async function rssMedian(pid: number, n = 5, gapMs = 60): Promise<number> {
  const v: number[] = [];
  for (let i = 0; i < n; i++) {
    v.push(rssKiB(pid));
    await sleep(gapMs);
  }
  v.sort((a, b) => a - b);
  return v[Math.floor(n / 2)];
}

/** Wait until hapoll's fd count is back to <baseline> (exactly, or below); returns the last count. */
export async function fdsBack(pid: number, baseline: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let n = fdCount(pid);
  while (n !== baseline && Date.now() < deadline) {
    await sleep(25);
    n = fdCount(pid);
  }
  return n;
}

/** Extra RSS allowed after a scenario: V8 and malloc keep some of what a burst made them grow. */
export const RSS_MARGIN_KIB = 16 * 1024;

/** One row of docs/reliability.md. */
export interface ReliabilityRecord {
  suite: string;
  fault: string;
  injected: number;
  connections: number;
  ok: number;
  bytesVerified: number;
  prefixBytesVerified: number;
  outcomes: Partial<Record<Outcome, number>>;
  fdBefore?: number;
  fdAfter?: number;
  rssBeforeKiB?: number;
  rssAfterKiB?: number;
  result: "pass" | "FAIL";
  notes?: string;
}

/** Append a record to $HAPOLL_RELIABILITY_OUT (default: <tmpdir>/hapoll-reliability.jsonl). */
export function record(r: ReliabilityRecord): void {
  const file = process.env.HAPOLL_RELIABILITY_OUT ?? path.join(os.tmpdir(), "hapoll-reliability.jsonl");
  try {
    fs.appendFileSync(file, JSON.stringify({ at: new Date().toISOString(), ...r }) + "\n");
  } catch {
    /* a record is a report, not a requirement */
  }
}

/** Outcomes without zero entries, for records and messages. */
export function nonZero(o: Record<Outcome, number>): Partial<Record<Outcome, number>> {
  const r: Partial<Record<Outcome, number>> = {};
  for (const [k, v] of Object.entries(o)) if (v) r[k as Outcome] = v;
  return r;
}

/** Run <n> transfers with at most <concurrency> at a time. */
export async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, worker));
  return out;
}
