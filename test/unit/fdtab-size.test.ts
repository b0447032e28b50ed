/**
 * fdtab's size against HAProxy 1.8's maxsock: Node's own fds (global.runtimeFds) enlarge fdtab but
 * not maxsock, and the select poller never gets a table reaching past FD_SETSIZE.
 */
import { afterEach, describe, expect, it } from "vitest";
import { C } from "../../src/native";
import { fdtab, fdOps, initFdtab } from "../../src/core/fd";
import { global } from "../../src/core/global";
import { deinitPollers, disablePoller, fdtabSize, initPollers, POLLER_PREFS, registerPollers, registry } from "../../src/core/poller";

afterEach(() => {
  deinitPollers();
  for (const p of registry.pollers) p.pref = POLLER_PREFS[p.name];
  global.maxsock = 0;
  global.runtimeFds = 0;
  fdOps.clo = () => {};
  fdOps.close = () => {};
  fdOps.nolinger = () => {};
  initFdtab(64);
});

describe("fdtabSize() / initPollers()", () => {
  it("fdtabSize() adds the runtime's fds to maxsock, and stops at FD_SETSIZE for select only", () => {
    global.maxsock = 1011;
    global.runtimeFds = 64;
    expect(fdtabSize("epoll")).toBe(1075);
    expect(fdtabSize("poll")).toBe(1075);
    expect(fdtabSize("select")).toBe(Math.min(1075, C.FD_SETSIZE));
  });

  it("select is chosen when maxsock <= FD_SETSIZE even though maxsock + runtimeFds is above it", () => {
    registerPollers();
    for (const n of ["epoll", "kqueue", "poll"]) disablePoller(n);
    global.maxsock = C.FD_SETSIZE - 13;
    global.runtimeFds = 64;
    const p = initPollers();
    expect(p?.name).toBe("select");
    expect(fdtab.maxsock).toBe(C.FD_SETSIZE);
  });

  it("select's init fails (pref 0) when maxsock itself is above FD_SETSIZE, whatever runtimeFds", () => {
    registerPollers();
    for (const n of ["epoll", "kqueue", "poll"]) disablePoller(n);
    global.maxsock = C.FD_SETSIZE + 1;
    global.runtimeFds = 0;
    expect(initPollers()).toBeNull();
    expect(registry.pollers.find((x) => x.name === "select")!.pref).toBe(0);
  });
});
