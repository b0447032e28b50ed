/**
 * Which poller the e2e suites really run. Without HAPOLL_TEST_POLLER: the platform's best one
 * (epoll on Linux, kqueue on macOS and the BSDs) is listed with pref=300 and chosen. With
 * HAPOLL_TEST_POLLER=<name> (npm run test:kqueue): the helpers' flags make bin/hapoll pick <name>,
 * so a suite run "under kqueue" cannot silently fall back to epoll or poll.
 */
import { describe, expect, it } from "vitest";
import {
  TEST_POLLER, TEST_POLLER_ARGS, cleanup, echoServer, freePort, randomBytes, roundTrip, runHapoll, startHapoll,
} from "./helpers";
import { tcpCfg } from "./net-helpers";

const PREFS: Record<string, number> = { epoll: 300, kqueue: 300, poll: 200, select: 150 };
const BEST: Record<string, string> = { linux: "epoll", darwin: "kqueue", freebsd: "kqueue", openbsd: "kqueue" };

describe("platform poller", () => {
  const want = TEST_POLLER || BEST[process.platform] || "poll";

  it(`-vv ${TEST_POLLER_ARGS.join(" ")} lists ${want} as usable with pref=${PREFS[want]} and will use it`, () => {
    const r = runHapoll(["-vv", ...TEST_POLLER_ARGS]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^\\s+${want} : pref=${PREFS[want]},\\s+test result OK$`, "m"));
    expect(r.stdout).toMatch(new RegExp(`will use ${want}\\.$`, "m"));
    expect(r.stdout).toMatch(new RegExp(`NATIVE\\s+= node-addon-api \\(.*\\b${want}\\b`));
  });

  it(`a proxy started by the helpers says "Using ${want}() as the polling mechanism" and forwards`, async () => {
    try {
      const echo = await echoServer();
      const port = await freePort();
      const h = await startHapoll(tcpCfg({ port, srvPort: echo.port }), { args: ["-V"], waitPort: port });
      expect(h.stdout()).toContain(`Using ${want}() as the polling mechanism.`);
      const data = randomBytes(200_000, 7);
      expect((await roundTrip(port, data)).equals(data)).toBe(true);
    } finally {
      await cleanup();
    }
  });
});
