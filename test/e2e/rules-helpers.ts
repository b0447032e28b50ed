/**
 * Helpers for the side-by-side rule suites (acl.test.ts, rules.test.ts): the implementations to
 * compare (hapoll, HAProxy 1.8.0, HAProxy 2.6 when installed), starting one on a config without a
 * probe connection (a probe would run the rules), backends that record what they got, and clients
 * that report what came back and how the connection ended. Everything registers with helpers.ts'
 * onCleanup(); every wait is bounded.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { onCleanup, startHapoll, tmpDir, waitListen, type Hapoll } from "./helpers";

export const HAPROXY18 = "/root/.cache/hapoll-peers/haproxy-1.8.0/haproxy";
export const HAPROXY26 = "/usr/sbin/haproxy";

/** One implementation: hapoll (bin null) or an HAProxy binary. */
export interface Impl {
  name: string;
  bin: string | null;
}

/** hapoll, then the HAProxy peers among <peers> that are installed (a missing one is named on stdout). */
export function impls(suite: string, peers: ("1.8.0" | "2.6")[]): Impl[] {
  const out: Impl[] = [{ name: "hapoll", bin: null }];
  for (const v of peers) {
    const bin = v === "1.8.0" ? HAPROXY18 : HAPROXY26;
    if (fs.existsSync(bin)) out.push({ name: `haproxy-${v}`, bin });
    else console.log(`${suite}: haproxy-${v} not found at ${bin}, its side of the comparison is skipped`);
  }
  return out;
}

/**
 * Starts <impl> on <cfg> and waits until <port> listens (without connecting). Returns hapoll's
 * handle (null for a peer). <args>: extra hapoll arguments.
 */
export async function startImpl(impl: Impl, cfg: string, port: number, args: string[] = []): Promise<Hapoll | null> {
  let h: Hapoll | null = null;
  if (impl.bin === null) {
    h = await startHapoll(cfg, { args });
  } else {
    const f = path.join(tmpDir(), "haproxy.cfg");
    fs.writeFileSync(f, cfg);
    const p = spawn(impl.bin, ["-db", "-f", f], { stdio: ["ignore", "ignore", "pipe"] });
    onCleanup(() => p.kill("SIGKILL"));
  }
  await waitListen(port, 5000);
  return h;
}

/** A backend recording what each connection sent, replying <tag> on connect. */
export async function recorder(tag: string): Promise<{ port: number; got: Buffer[]; server: net.Server }> {
  const got: Buffer[] = [];
  const server = net.createServer((c) => {
    const idx = got.push(Buffer.alloc(0)) - 1;
    c.on("data", (d) => (got[idx] = Buffer.concat([got[idx], d])));
    c.on("error", () => {});
    c.write(tag);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  onCleanup(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, got, server };
}

/** What a client saw: the bytes, how the connection ended (data, end, ECONNRESET, timeout...) and when. */
export interface Outcome {
  reply: string;
  how: string;
  ms: number;
  /** When the first byte came (-1: none). */
  firstMs: number;
}

/**
 * Connects from <local>, sends <data>, and reports what came back. With <untilEnd> false it stops
 * at the first 2 bytes ("data"); with true it reads until the connection ends or <ms> passes.
 */
export function exchange(port: number, local: string, data: Buffer | null, ms = 3000, untilEnd = false): Promise<Outcome> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const c = net.connect({ port, host: "127.0.0.1", localAddress: local });
    let reply = "";
    let firstMs = -1;
    const done = (how: string) => {
      clearTimeout(timer);
      c.destroy();
      resolve({ reply, how, ms: Date.now() - t0, firstMs });
    };
    const timer = setTimeout(() => done("timeout"), ms);
    c.on("connect", () => { if (data) c.write(data); });
    c.on("data", (d) => {
      if (firstMs < 0) firstMs = Date.now() - t0;
      reply += d.toString("latin1");
      if (!untilEnd && reply.length >= 2) done("data");
    });
    c.on("error", (e: NodeJS.ErrnoException) => done(e.code ?? "error"));
    c.on("end", () => done("end"));
  });
}

export const DEFAULTS = "defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n";

/** `backend bk_<x>` sections, one server <x> each: { a: portA, d: portD } -> bk_a, bk_d. */
export function backendsCfg(ports: Record<string, number>): string {
  return Object.entries(ports).map(([x, p]) => `backend bk_${x}\n  server ${x} 127.0.0.1:${p}\n`).join("");
}
