"use strict";
/**
 * Scenarios of the fidelity harness. Each one is a config and a script for clients and backends.
 * Determinism comes from pacing: every external event (a client's bytes, a backend's reply, a close)
 * happens while the proxy sleeps in its wait, tens of milliseconds after the previous one, so the proxy
 * always finds nothing to read first and takes the same path every run.
 *
 * A scenario: { name, title, servers: roles besides "fe", config(ports), setup?(ctx), drive(ctx),
 * settleMs?, budgetMs? }. drive() notes what the clients saw (ctx.note); that transcript is compared too.
 */
const { spawn } = require("node:child_process");

const PACE = 50; // ms between external events

function cfg(ports, { defaults = "", listen = "", servers = null, global = "" } = {}) {
  const srv = servers ?? `    server srv1 127.0.0.1:${ports.srv1}\n`;
  return (
    `global\n    maxconn 500\n${global}` +
    `defaults\n    mode tcp\n    timeout connect 1000\n    timeout client 5000\n    timeout server 5000\n${defaults}` +
    `listen px\n    bind 127.0.0.1:${ports.fe}\n${listen}${srv}`
  );
}

/**
 * A backend that echoes what it reads after <delay> ms; ends after <closeAfter> replies if given, else
 * <PACE> ms after the proxy half-closes (or calls <onEnd>).
 */
function echo(ctx, role, { delay = PACE, closeAfter = 0, onEnd = null } = {}) {
  return ctx.backend(
    role,
    (s) => {
      let n = 0;
      s.on("data", (d) => {
        const k = ++n;
        setTimeout(() => {
          if (s.destroyed) return;
          s.write(d);
          if (closeAfter && k === closeAfter) setTimeout(() => s.end(), PACE);
        }, delay);
      });
      s.on("end", () => {
        if (onEnd) onEnd(s);
        else setTimeout(() => s.end(), PACE);
      });
    },
    { allowHalfOpen: true },
  );
}

/** One client line exchange: write <s>, read the echo. */
async function exchange(ctx, c, s) {
  c.write(s);
  const r = await c.line("\n", 3000);
  ctx.note(`got ${JSON.stringify(r)}`);
}

const SCENARIOS = [
  {
    name: "seed",
    title: "the seed journey: a line, its echo, another line, its echo, server closes",
    config: (p) =>
      `global\n    maxconn 500\ndefaults\n    mode tcp\n    contimeout 1000\n    clitimeout 5000\n    srvtimeout 5000\n` +
      `listen mysql_1\n    bind 127.0.0.1:${p.fe}\n    server srv1 127.0.0.1:${p.srv1}\n`,
    setup: (ctx) => echo(ctx, "srv1", { closeAfter: 2 }),
    async drive(ctx) {
      const c = ctx.client();
      await c.connected();
      await ctx.backendAccepted("srv1", 1);
      await ctx.sleep(PACE);
      await exchange(ctx, c, "hello\n");
      await ctx.sleep(PACE);
      await exchange(ctx, c, "world\n");
      await c.closed(3000);
      ctx.note("server closed");
      await ctx.sleep(PACE);
      c.end();
    },
  },
  {
    name: "exchanges",
    title: "200 request/response exchanges on one connection",
    setup: (ctx) => echo(ctx, "srv1", { delay: 5 }),
    config: (p) => cfg(p),
    async drive(ctx) {
      const c = ctx.client();
      await c.connected();
      await ctx.backendAccepted("srv1", 1);
      await ctx.sleep(PACE);
      let ok = 0;
      for (let i = 0; i < 200; i++) {
        c.write(`req ${i}\n`);
        const r = await c.line("\n", 3000);
        if (r === `req ${i}\n`) ok++;
        await ctx.sleep(5);
      }
      ctx.note(`${ok} echoes`);
      await ctx.sleep(PACE);
      c.end();
      await c.closed(3000);
      ctx.note("closed");
    },
  },
  {
    name: "bulk",
    title: "1 MiB each way, in paced 8 KiB writes",
    setup: (ctx) =>
      ctx.backend(
        "srv1",
        (s) => {
          let got = 0;
          s.on("data", async (d) => {
            got += d.length;
            ctx.bulkUp = got;
            if (got === BULK) {
              await ctx.sleep(PACE);
              await pacedWrite(ctx, s, () => ctx.bulkDown);
              await ctx.sleep(PACE);
              s.end();
            }
          });
        },
        { allowHalfOpen: true },
      ),
    config: (p) => cfg(p),
    async drive(ctx) {
      const c = ctx.client();
      await c.connected();
      await ctx.backendAccepted("srv1", 1);
      await ctx.sleep(PACE);
      c.sock.on("data", () => (ctx.bulkDown = c.bytes));
      await pacedWrite(ctx, c.sock, () => ctx.bulkUp ?? 0);
      await c.bytesAtLeast(BULK, 10_000);
      ctx.note(`received ${c.bytes} bytes`);
      await c.closed(3000);
      await ctx.sleep(PACE);
      c.end();
    },
    budgetMs: 25_000,
  },
  {
    name: "client-close",
    title: "the client half-closes first; the server then says bye and closes",
    setup: (ctx) =>
      echo(ctx, "srv1", {
        onEnd: (s) =>
          setTimeout(() => {
            s.write("bye\n");
            setTimeout(() => s.end(), PACE);
          }, PACE),
      }),
    config: (p) => cfg(p),
    async drive(ctx) {
      const c = ctx.client();
      await c.connected();
      await ctx.backendAccepted("srv1", 1);
      await ctx.sleep(PACE);
      await exchange(ctx, c, "hello\n");
      await ctx.sleep(PACE);
      c.end();
      ctx.note(`got ${JSON.stringify(await c.line("\n", 3000))}`);
      await c.closed(3000);
      ctx.note("closed");
    },
  },
  {
    name: "server-close",
    title: "the server closes first, without answering",
    setup: (ctx) =>
      ctx.backend("srv1", (s) => s.on("data", () => setTimeout(() => s.end(), PACE)), { allowHalfOpen: true }),
    config: (p) => cfg(p),
    async drive(ctx) {
      const c = ctx.client();
      await c.connected();
      await ctx.backendAccepted("srv1", 1);
      await ctx.sleep(PACE);
      c.write("hello\n");
      await c.closed(3000);
      ctx.note(`closed after ${c.bytes} bytes`);
      await ctx.sleep(PACE);
      c.end();
    },
  },
  {
    name: "refused",
    title: "the only server refuses; retries 3 (turn-around = timeout connect 100)",
    config: (p) => cfg(p, { listen: "    retries 3\n    timeout connect 100\n" }),
    async drive(ctx) {
      const c = ctx.client();
      await c.connected();
      // No bytes: the retries' timing (every 100 ms) would race with them.
      await c.closed(3000);
      ctx.note(`closed after ${c.bytes} bytes`);
    },
  },
  ...[false, true].map((redispatch) => ({
    name: redispatch ? "rr-redispatch" : "rr-refused",
    title: `roundrobin over a refusing srv1 and a live srv2, retries 1, ${redispatch ? "with" : "without"} option redispatch; two clients`,
    servers: ["srv1", "srv2"],
    setup: (ctx) => echo(ctx, "srv2"),
    config: (p) =>
      cfg(p, {
        listen: `    balance roundrobin\n    retries 1\n    timeout connect 100\n${redispatch ? "    option redispatch\n" : ""}`,
        servers: `    server srv1 127.0.0.1:${p.srv1}\n    server srv2 127.0.0.1:${p.srv2}\n`,
      }),
    async drive(ctx) {
      for (let i = 0; i < 2; i++) {
        const c = ctx.client();
        await c.connected();
        await ctx.sleep(250); // after the retry (turn-around 100 ms), before nothing else
        c.write(`client ${i}\n`);
        await c.until(() => c.buf.includes("\n") || c.ended, 3000, "reply or close");
        ctx.note(`client ${i}: ${c.buf.includes("\n") ? "echoed" : "closed"}`);
        await ctx.sleep(PACE);
        c.end();
        await c.closed(3000);
        await ctx.sleep(PACE * 2);
      }
    },
  })),
  {
    name: "timeout-connect",
    title: "connect timeout: srv1's accept queue is full, so its SYNs are dropped; retries 1",
    config: (p) => cfg(p, { listen: "    retries 1\n    timeout connect 200\n" }),
    setup: (ctx) => blackHole(ctx, "srv1"),
    async drive(ctx) {
      const c = ctx.client();
      await c.connected();
      await ctx.sleep(PACE);
      c.write("hello\n");
      await c.closed(3000);
      ctx.note(`closed after ${c.bytes} bytes`);
    },
  },
  {
    name: "timeout-client",
    title: "client timeout: the client stays silent; timeout client 200, then timeout server 600 ends it",
    config: (p) => cfg(p, { listen: "    timeout client 200\n    timeout server 600\n" }),
    setup: (ctx) => echo(ctx, "srv1"),
    async drive(ctx) {
      const c = ctx.client();
      await c.connected();
      await ctx.backendAccepted("srv1", 1);
      await c.closed(3000);
      ctx.note(`closed after ${c.bytes} bytes`);
      await ctx.sleep(PACE);
      c.end();
    },
  },
  {
    name: "timeout-server",
    title: "server timeout: the server reads and never answers; timeout server 200",
    config: (p) => cfg(p, { listen: "    timeout server 200\n" }),
    setup: (ctx) => ctx.backend("srv1", (s) => s.on("data", () => {}), { allowHalfOpen: true }),
    async drive(ctx) {
      const c = ctx.client();
      await c.connected();
      await ctx.backendAccepted("srv1", 1);
      await ctx.sleep(PACE);
      c.write("hello\n");
      await c.closed(3000);
      ctx.note(`closed after ${c.bytes} bytes`);
      await ctx.sleep(PACE);
      c.end();
    },
  },
  {
    name: "listener-maxconn",
    title: "listener maxconn 1 reached, then the slot is freed and the waiting client is accepted",
    config: (p) => cfg(p, { listen: "    maxconn 1\n" }),
    setup: (ctx) => echo(ctx, "srv1"),
    async drive(ctx) {
      const a = ctx.client();
      await a.connected();
      await ctx.sleep(PACE);
      await exchange(ctx, a, "a\n");
      const b = ctx.client();
      await b.connected();
      await ctx.sleep(PACE);
      b.write("b\n");
      await ctx.sleep(PACE * 2);
      a.end();
      await a.closed(3000);
      ctx.note("a closed");
      ctx.note(`b got ${JSON.stringify(await b.line("\n", 3000))}`);
      await ctx.sleep(PACE);
      b.end();
      await b.closed(3000);
      ctx.note("b closed");
    },
  },
  {
    name: "server-queue",
    title: "three clients on a maxconn 1 server: two wait in the queue",
    config: (p) => cfg(p, { listen: "    timeout queue 3000\n", servers: `    server srv1 127.0.0.1:${p.srv1} maxconn 1\n` }),
    setup: (ctx) => echo(ctx, "srv1", { delay: 100 }),
    async drive(ctx) {
      // One event at a time, PACE apart: c0 takes the server's only slot and gets its echo; c1 and
      // c2 queue with their request sent; each close hands the slot to the next one in the queue.
      const cs = [];
      for (let i = 0; i < 3; i++) {
        const c = ctx.client();
        await c.connected();
        await ctx.sleep(PACE);
        c.write(`c${i}\n`);
        cs.push(c);
        if (i === 0) ctx.note(`c0 got ${JSON.stringify(await c.line("\n", 5000))}`);
        await ctx.sleep(PACE);
      }
      for (let i = 0; i < 3; i++) {
        if (i > 0) ctx.note(`c${i} got ${JSON.stringify(await cs[i].line("\n", 5000))}`);
        await ctx.sleep(PACE);
        cs[i].end();
        await cs[i].closed(3000);
        await ctx.sleep(PACE);
      }
    },
  },
  {
    name: "soft-stop",
    title: "SIGUSR1 soft stop with a live connection: the listener goes, the connection finishes",
    config: (p) => cfg(p),
    setup: (ctx) => echo(ctx, "srv1"),
    async drive(ctx) {
      const c = ctx.client();
      await c.connected();
      await ctx.backendAccepted("srv1", 1);
      await ctx.sleep(PACE);
      await exchange(ctx, c, "before\n");
      await ctx.sleep(PACE);
      ctx.signal("SIGUSR1");
      await ctx.sleep(PACE * 3);
      await exchange(ctx, c, "after\n");
      await ctx.sleep(PACE);
      c.end();
      await c.closed(3000);
      ctx.note("closed");
      await ctx.sleep(PACE * 3);
    },
  },
  {
    name: "health-check",
    title: "a health-checked server (inter 1000 fall 2 rise 2) goes down for 3000 ms and comes back",
    config: (p) => cfg(p, { servers: `    server srv1 127.0.0.1:${p.srv1} check inter 1000 fall 2 rise 2\n` }),
    // HAProxy's checks do not reach a Node 'connection' event (no quick ACK, reset at once), so the
    // backend goes down and up on a schedule set mid-way between checks, 500 ms from each: checks run
    // every 1000 ms from start-up (t0, when the listener appears). Up at 0 and 1000; refused at 2000,
    // 3000, 4000 (down after 3000); up at 5000 and 6000 (up after 6000); the proxy is stopped at 6500.
    setup: (ctx) => ctx.backend("srv1", () => {}).then((srv) => (ctx.srv1 = srv)),
    async drive(ctx) {
      await ctx.sleepUntil(ctx.t0 + 1500);
      ctx.srv1.close(); // not waiting for the checks' sockets: the port is free at once
      await ctx.sleepUntil(ctx.t0 + 4500);
      await ctx.backend("srv1", () => {});
      await ctx.sleepUntil(ctx.t0 + 6500);
      ctx.note("srv1 was down from 1500 to 4500 ms");
    },
    startDelay: 0,
    settleMs: 0,
  },
];

const BULK = 1 << 20;
const CHUNK = 8192;

/**
 * Write BULK bytes as 8 KiB chunks (one loopback segment, less than one recv). Closed-loop pacing: the next
 * chunk leaves 3 ms after the far end has received the previous one (<delivered>() counts its bytes), so
 * the proxy has forwarded it and sleeps again, however slow the machine is.
 */
async function pacedWrite(ctx, sock, delivered) {
  const chunk = Buffer.alloc(CHUNK, 0x61);
  for (let off = 0; off < BULK; off += CHUNK) {
    if (sock.destroyed) return;
    sock.write(chunk);
    const t = Date.now();
    while ((delivered() ?? 0) < off + CHUNK && Date.now() - t < 3000) await ctx.sleep(1);
    await ctx.sleep(3);
  }
}

/**
 * A server that never accepts, whose accept queue is full: a child process listens with backlog 1
 * and blocks its event loop; two connections fill the queue; further SYNs are dropped by the kernel.
 */
async function blackHole(ctx, role) {
  const port = ctx.ports[role];
  const child = spawn(
    process.execPath,
    [
      "-e",
      `const s=require("net").createServer();s.listen({port:${port},host:"127.0.0.1",backlog:1},()=>{` +
        `process.stdout.write("ok\\n");Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,20000);process.exit(0)})`,
    ],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  ctx.closers.push(() => child.kill("SIGKILL"));
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("black hole did not start")), 5000);
    child.stdout.once("data", () => {
      clearTimeout(t);
      resolve();
    });
  });
  for (let i = 0; i < 2; i++) {
    const f = ctx.client(role);
    await f.connected(2000);
  }
}

module.exports = { SCENARIOS, PACE };
