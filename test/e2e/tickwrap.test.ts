/**
 * The loop across the 32-bit tick wrap: now_ms starts 1.5 s before it goes through 0 (which is also
 * TICK_ETERNITY), and timeouts armed before the wrap must still fire after it, on time.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as net from "node:net";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { cleanup, echoServer, freePort, POLLER_VARIANTS, ROOT, roundTrip, startHapoll } from "./helpers";

afterEach(cleanup);

it("HAPOLL_NOW_MS starts the tick counter where asked (the precondition of this file)", () => {
  const clock = path.join(ROOT, "dist/core/clock.js");
  const out = execFileSync(process.execPath, ["-e", `console.log(require(${JSON.stringify(clock)}).clock.nowMs)`], {
    env: { ...process.env, HAPOLL_NOW_MS: "-1500" },
  }).toString();
  const v = Number(out);
  expect(v).toBeLessThanOrEqual(-1400);
  expect(v).toBeGreaterThanOrEqual(-1500);
});

describe.each(POLLER_VARIANTS)("tick wrap ($name)", ({ args }) => {
  it("a client timeout armed before now_ms wraps through 0 fires after the wrap, and traffic keeps flowing", async () => {
    const be = await echoServer();
    const port = await freePort();
    await startHapoll(`defaults
    timeout connect 1s
    timeout client 2500
    timeout server 10s
listen px
    bind 127.0.0.1:${port}
    server s1 127.0.0.1:${be.port}
`, { waitPort: port, args, env: { HAPOLL_NOW_MS: "-1500" } });
    // An idle client: its read timeout (2.5 s) straddles the wrap (~1.5 s after start).
    const t0 = Date.now();
    const idle = net.connect({ port, host: "127.0.0.1" });
    idle.on("error", () => {});
    const closedAfter = new Promise<number>((r) => idle.on("close", () => r(Date.now() - t0)));
    // Round trips before, across and after the wrap.
    for (let i = 0; i < 6; i++) {
      const got = await roundTrip(port, Buffer.from(`ping ${i}`));
      expect(got.toString()).toBe(`ping ${i}`);
      await new Promise((r) => setTimeout(r, 400));
    }
    const ms = await closedAfter;
    expect(ms).toBeGreaterThanOrEqual(2300);
    expect(ms).toBeLessThan(6000);
  }, 30_000);
});
