/**
 * The library entry point (package.json "main" and "types"): the built module exports the poller
 * registry, the fd API and the loop, and a script can run one turn of the loop with them alone.
 * It loads dist/ (built by npm test's pretest), as a user's require("hapoll") would.
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

describe("library entry point", () => {
  it("package.json names a built module and its typings", () => {
    expect(fs.existsSync(path.join(ROOT, pkg.main))).toBe(true);
    const dts = fs.readFileSync(path.join(ROOT, pkg.types), "utf8");
    for (const name of ["initPollers", "registry", "fdInsert", "fdWantRecv", "runOneTurn", "runPollLoop", "Poller"]) {
      expect(dts, name).toContain(name);
    }
  });

  it("drives one turn of the loop: a readable socket calls its iocb", () => {
     
    const h = require(path.join(ROOT, pkg.main));
    expect(h.POLLER_PREFS).toEqual({ epoll: 300, kqueue: 300, poll: 200, select: 150 });
    h.initClock();
    h.global.maxsock = 64;
    const p = h.initPollers();
    expect(p).not.toBeNull();
    expect(h.registry.cur).toBe(p);
    const sv = new Int32Array(2);
    expect(h.native.socketpair(h.C.SOCK_STREAM, sv)).toBe(0);
    const seen: number[] = [];
    // The iocb reads nothing and says so (fd_cant_recv), so the poller watches the fd again.
    h.fdInsert(sv[0], {}, (fd: number) => {
      seen.push(fd);
      h.fdCantRecv(fd);
    });
    h.fdWantRecv(sv[0]);
    h.counters.jobs = 1;
    h.runOneTurn(0); // applies the update list: the fd is now polled
    expect(seen).toEqual([]);
    expect(h.native.send(sv[1], Buffer.from("x"), 0, 1, 0)).toBe(1);
    for (let i = 0; i < 20 && seen.length === 0; i++) h.runOneTurn(50);
    expect(seen).toEqual([sv[0]]);
    h.fdDelete(sv[0]);
    h.native.close(sv[1]);
    h.deinitPollers();
  });
});
