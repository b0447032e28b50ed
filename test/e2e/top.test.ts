/**
 * `hapoll top` in a real terminal (tmux): a live connection appears and disappears, q quits.
 */
import { afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import { BIN, cleanup, echoServer, freePort, hasProgram, onCleanup, skipBecause, sleep, startHapoll, tmpDir } from "./helpers";

const SESSION = `hapoll-top-${process.pid}`;

function tmux(...args: string[]): string {
  return execFileSync("tmux", args, { encoding: "utf8" });
}

/** Wait until the pane shows something matching <re>; returns the screen. */
async function screenMatching(re: RegExp, ms = 8000): Promise<string> {
  const deadline = Date.now() + ms;
  let screen = "";
  while (Date.now() < deadline) {
    screen = tmux("capture-pane", "-p", "-t", SESSION);
    if (re.test(screen)) return screen;
    await sleep(100);
  }
  throw new Error(`screen never matched ${re}:\n${screen}`);
}

afterEach(cleanup);

describe.skipIf(skipBecause(!hasProgram("tmux"), "top.test.ts: tmux is not installed (apt-get install tmux)"))("hapoll top", () => {
  it("shows a live proxied connection appear and disappear, and quits on q", async () => {
    const be = await echoServer();
    const port = await freePort();
    const sock = path.join(tmpDir(), "stats.sock");
    const h = await startHapoll(`global
    stats socket ${sock} mode 600 level admin
defaults
    timeout connect 1s
    timeout client 30s
    timeout server 30s
listen px
    bind 127.0.0.1:${port}
    server s1 127.0.0.1:${be.port}
`, { waitPath: sock });
    tmux("new-session", "-d", "-s", SESSION, "-x", "150", "-y", "40", `${process.execPath} ${BIN} top ${sock}`);
    onCleanup(() => tmux("kill-session", "-t", SESSION));
    let screen = await screenMatching(/streams: 0/);
    expect(screen).toContain(`pid ${h.pid}`);
    expect(screen).toMatch(/listener_accept .*fe=px/);
    expect(screen).not.toMatch(/sv=s1\/px/);

    const c = net.connect({ port, host: "127.0.0.1" });
    await new Promise<void>((r) => c.on("connect", () => r()));
    c.write("hello");
    screen = await screenMatching(/streams: 1 EST=1/);
    // Both sides of the stream are fdtab rows: the client fd and the server fd.
    expect(screen).toMatch(/conn_fd_handler .*fe=px/);
    expect(screen).toMatch(/conn_fd_handler .*sv=s1\/px/);
    expect(screen).toMatch(/loop turns\/s\s+\d+/);

    c.destroy();
    screen = await screenMatching(/streams: 0/);
    expect(screen).not.toMatch(/sv=s1\/px/);

    tmux("send-keys", "-t", SESSION, "q");
    const deadline = Date.now() + 5000;
    let alive = true;
    while (alive && Date.now() < deadline) {
      try {
        tmux("has-session", "-t", SESSION);
        await sleep(100);
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
  }, 40_000);
});
