/**
 * HAProxy's maxsock against hapoll's fd bound: Node's own fds (global.runtimeFds) are part of
 * global.maxsock (fdtab's size) but not of haproxyMaxsock(), which the select poller's test
 * compares; with select, the fd bound never reaches past FD_SETSIZE.
 */
import { afterEach, describe, expect, it } from "vitest";
import { C } from "../../src/native";
import { fdtab, fdOps, initFdtab } from "../../src/core/fd";
import { global, haproxyMaxsock } from "../../src/core/global";
import { deinitPollers, disablePoller, initPollers, POLLER_PREFS, registerPollers, registry } from "../../src/core/poller";

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

function onlySelect(): void {
  registerPollers();
  for (const n of ["epoll", "kqueue", "poll"]) disablePoller(n);
}

describe("haproxyMaxsock() and the select poller", () => {
  it("select is chosen when HAProxy's maxsock fits FD_SETSIZE; the fd bound then stops at FD_SETSIZE", () => {
    onlySelect();
    global.runtimeFds = 64;
    global.maxsock = C.FD_SETSIZE - 13 + 64;
    expect(haproxyMaxsock()).toBe(C.FD_SETSIZE - 13);
    const p = initPollers();
    expect(p?.name).toBe("select");
    expect(global.maxsock).toBe(C.FD_SETSIZE);
    expect(fdtab.maxsock).toBe(C.FD_SETSIZE);
    // What `show info` says does not move.
    expect(haproxyMaxsock()).toBe(C.FD_SETSIZE - 13);
  });

  it("select's init fails (pref 0) when HAProxy's maxsock itself is above FD_SETSIZE", () => {
    onlySelect();
    global.runtimeFds = 64;
    global.maxsock = C.FD_SETSIZE + 1 + 64;
    expect(initPollers()).toBeNull();
    expect(registry.pollers.find((x) => x.name === "select")!.pref).toBe(0);
  });

  it("other pollers keep the whole bound, runtime fds included", () => {
    registerPollers();
    global.runtimeFds = 64;
    global.maxsock = 1011 + 64;
    const p = initPollers();
    expect(p?.name).not.toBe("select");
    expect(fdtab.maxsock).toBe(1075);
    expect(haproxyMaxsock()).toBe(1011);
  });
});
