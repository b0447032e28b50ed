/**
 * `hapoll top <stats socket>`: a live terminal view of a running hapoll, refreshed every second,
 * built from the stats socket (`show pollers`, `show info`, `show fd`). Quit with q (or Ctrl-C).
 *
 * Unlike the proxy, this is an ordinary Node program: it runs on Node's own event loop and talks to
 * the proxy over the socket like any CLI client (operator level or above is needed for show fd).
 */
import * as net from "node:net";

/** Figures parsed from one sample. */
export interface TopSample {
  at: number;
  poller: string;
  loops: number;
  polls: number;
  events: number;
  changes: number;
  fdCache: number;
  fdUpdt: number;
  maxfd: number;
  tasks: number;
  runQueue: number;
  streams: string;
  info: Map<string, string>;
  fds: string[];
}

/** Parse the answer to "show pollers;show info;show fd" (sections end with an empty line). */
export function parseTopSample(text: string, at: number): TopSample {
  const kv = new Map<string, string>();
  const fds: string[] = [];
  for (const line of text.split("\n")) {
    const fdm = /^\s+(\d+) : st=/.exec(line);
    if (fdm) {
      fds.push(line);
      continue;
    }
    const m = /^([A-Za-z_][\w-]*): ?(.*)$/.exec(line);
    if (m && !kv.has(m[1])) kv.set(m[1], m[2]);
  }
  const num = (k: string) => Number(kv.get(k) ?? 0);
  return {
    at,
    poller: kv.get("current") ?? "?",
    loops: num("loops"),
    polls: num("polls"),
    events: num("events"),
    changes: num("changes"),
    fdCache: num("fd_cache"),
    fdUpdt: num("fd_updt"),
    maxfd: num("maxfd"),
    tasks: num("tasks"),
    runQueue: num("run_queue"),
    streams: kv.get("streams") ?? "0",
    info: kv,
    fds,
  };
}

/** Render one screen from the current and previous samples. */
export function renderTop(cur: TopSample, prev: TopSample | null, rows = 40): string {
  const dt = prev ? (cur.at - prev.at) / 1000 : 0;
  const rate = (a: number, b: number | undefined) => (prev && dt > 0 && b !== undefined ? ((a - b) / dt).toFixed(0) : "-");
  const polls = prev ? cur.polls - prev.polls : 0;
  const perTurn = polls > 0 ? ((cur.events - prev!.events) / polls).toFixed(2) : "-";
  const lines = [
    `hapoll top — pid ${cur.info.get("Pid") ?? "?"}, ${cur.poller} poller, uptime ${cur.info.get("Uptime") ?? "?"}    (q to quit)`,
    "",
    `loop turns/s ${rate(cur.loops, prev?.loops).padStart(8)}    polls/s ${rate(cur.polls, prev?.polls).padStart(8)}    events/turn ${perTurn.padStart(6)}    changes/s ${rate(cur.changes, prev?.changes).padStart(7)}`,
    `fd cache ${String(cur.fdCache).padStart(6)}    update list ${String(cur.fdUpdt).padStart(6)}    maxfd ${String(cur.maxfd).padStart(6)}    tasks ${String(cur.tasks).padStart(6)}    run queue ${String(cur.runQueue).padStart(5)}`,
    `conns: cur ${cur.info.get("CurrConns") ?? "?"}, cum ${cur.info.get("CumConns") ?? "?"}, maxconn ${cur.info.get("Maxconn") ?? "?"}    streams: ${cur.streams}    idle ${cur.info.get("Idle_pct") ?? "?"}%`,
    "",
    "   fd  state          ev           flags  cache  owner / iocb",
  ];
  for (const l of cur.fds.slice(0, Math.max(1, rows - lines.length - 1))) {
    const m = /^\s+(\d+) : st=0x[0-9a-f]+\(([^)]*)\) ev=0x[0-9a-f]+\(([^)]*)\) \[(\w+)\] cache=(\d+) owner=(\S+) iocb=\S+?\(([^)]*)\)(.*)$/.exec(l);
    if (!m) continue;
    lines.push(`${m[1].padStart(5)}  ${m[2].padEnd(13)}  ${m[3].padEnd(11)}  ${m[4]}   ${m[5].padStart(5)}  ${m[7]}${m[8]}`);
  }
  return lines.join("\n");
}

/** Send <cmd> to the socket and collect the answer (the server closes after answering). */
function ask(target: net.NetConnectOpts, cmd: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(target);
    let out = "";
    const t = setTimeout(() => {
      c.destroy();
      reject(new Error("stats socket did not answer"));
    }, timeoutMs);
    c.on("connect", () => c.write(cmd + "\n"));
    c.on("data", (d) => (out += d));
    c.on("end", () => {
      clearTimeout(t);
      resolve(out);
    });
    c.on("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** Where <arg> points: a unix socket path, or host:port. */
export function topTarget(arg: string): net.NetConnectOpts {
  const m = /^(.*):(\d+)$/.exec(arg);
  if (m && !arg.startsWith("/")) return { host: m[1].replace(/^\[|\]$/g, "") || "127.0.0.1", port: Number(m[2]) };
  return { path: arg.replace(/^unix@/, "") };
}

/** Run `hapoll top`. Resolves with the exit code when the user quits or the socket goes away. */
export function runTop(arg: string | undefined, intervalMs = 1000): Promise<number> {
  if (!arg) {
    process.stderr.write("usage: hapoll top <stats socket path | host:port>\n");
    return Promise.resolve(1);
  }
  const target = topTarget(arg);
  return new Promise((resolve) => {
    let prev: TopSample | null = null;
    let timer: NodeJS.Timeout | null = null;
    const finish = (code: number, msg = "") => {
      if (timer) clearTimeout(timer);
      if (process.stdin.isTTY) process.stdin.setRawMode(false);
      process.stdin.pause();
      process.stdout.write("\x1b[?25h\n" + msg);
      resolve(code);
    };
    if (process.stdin.isTTY) process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on("data", (d) => {
      const k = d.toString();
      if (k === "q" || k === "Q" || k === "\x03") finish(0);
    });
    const tick = async () => {
      try {
        const text = await ask(target, "show pollers;show info;show fd");
        if (/Permission denied/.test(text)) return finish(1, "hapoll top needs a stats socket of level operator or admin\n");
        const cur = parseTopSample(text, Date.now());
        process.stdout.write("\x1b[?25l\x1b[H\x1b[2J" + renderTop(cur, prev, process.stdout.rows || 40) + "\n");
        prev = cur;
        timer = setTimeout(tick, intervalMs);
      } catch (e) {
        finish(1, `hapoll top: ${(e as Error).message}\n`);
      }
    };
    void tick();
  });
}
