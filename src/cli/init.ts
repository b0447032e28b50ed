/**
 * From a parsed configuration to the objects that run: read the files, resolve the addresses (as
 * HAProxy 1.8's str2sa_range() does at parse time, with -dr's fallback), and build the proxies,
 * servers and listeners. HAProxy 1.8: readcfgfile()'s file handling and the part of init() and
 * check_config_validity() (src/haproxy.c, src/cfgparse.c) that creates the run-time objects.
 */
import { C, native } from "../native";
import { type CliOptions, DEFAULT_MAXCONN } from "./args";
import { type ConnSource } from "../net/proto_tcp";
import { LI_ASSIGNED, Listener, createListener } from "../net/listener";
import { type ParsedAddress, type ParsedConfig, type ServerConfig } from "../config/types";
import { SRV_ADMF_RMAINT, SRV_ST_STOPPED, Server } from "../proxy/server";
import { logWarningLine } from "../core/log";
import { Proxy, proxies } from "../proxy/proxy";
import { proxyRulesInit } from "../proxy/tcp_rules";
import { serverCheckInit } from "../proxy/checks";
import { sessionAcceptFd } from "../proxy/session";
import * as fs from "node:fs";

/**
 * The C library's words for a failed file system call (HAProxy prints fileErrText(errno)): Node's
 * "ENOENT: no such file or directory, stat 'x'" becomes "No such file or directory".
 */
export function fileErrText(e: unknown): string {
  const m = /^[A-Z0-9]+: ([^,]*)/.exec((e as Error).message ?? "");
  const t = m ? m[1] : String((e as Error).message ?? e);
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** Read the configuration files; a directory contributes its *.cfg files in order (HAProxy 1.7+). */
export function readConfigFiles(names: string[]): { name: string; text: string }[] | string {
  const files: { name: string; text: string }[] = [];
  for (const n of names) {
    let st: fs.Stats;
    try {
      st = fs.statSync(n);
    } catch (e) {
      return `Cannot open configuration file/directory ${n} : ${fileErrText(e)}`;
    }
    const list = st.isDirectory()
      ? fs.readdirSync(n).filter((x) => x.endsWith(".cfg")).sort().map((x) => `${n}/${x}`)
      : [n];
    for (const f of list) {
      try {
        files.push({ name: f, text: fs.readFileSync(f, "utf8") });
      } catch (e) {
        return `Could not open configuration file ${f} : ${fileErrText(e)}`;
      }
    }
  }
  return files;
}

/** The names resolved by initAddrs(), and the servers -dr put in maintenance. */
export const resolved = new Map<ParsedAddress, string>();

export const unresolvedServers = new Set<ServerConfig>();

/** The numeric address of a parsed address (resolving a DNS name at start-up, as HAProxy does). */
export function resolveAddr(a: ParsedAddress): string | null {
  if (a.family === "unix") return a.host;
  if (!a.needsResolve) return a.host;
  const done = resolved.get(a);
  if (done !== undefined) return done;
  const r = native.resolveHost(a.host, a.family === "ipv6" ? "ipv6" : a.familyForced ? "ipv4" : "any");
  if (typeof r !== "string") return null;
  resolved.set(a, r);
  return r;
}

/**
 * Resolve the names of the bind and server lines, before -c says anything: -c fails where start-up
 * would. Returns the fatal messages (empty when all resolved). A bind name that does not resolve
 * is a parsing error (HAProxy resolves it in str2sa_range()); a server's fails the start
 * ("Failed to initialize server(s) addr.", srv_init_addr()) unless -dr puts the server in
 * maintenance with a warning.
 */
export function initAddrs(cfg: ParsedConfig, o: CliOptions): string[] {
  const fatal: string[] = [];
  const badFiles: string[] = [];
  for (const pc of cfg.proxies) {
    if (pc.disabled || !pc.cap.fe) continue;
    for (const bc of pc.binds) {
      if (resolveAddr(bc.addr) !== null) continue;
      const port = bc.addr.raw.slice(bc.addr.raw.lastIndexOf(":"));
      fatal.push(`parsing [${bc.file}:${bc.line}] : 'bind' : invalid address: '${bc.addr.host}' in '${bc.addr.host}${port}'`);
      if (!badFiles.includes(bc.file)) badFiles.push(bc.file);
    }
  }
  for (const f of badFiles) fatal.push(`Error(s) found in configuration file : ${f}`);
  if (badFiles.length) fatal.push("Fatal errors found in configuration.");
  let srvFail = false;
  for (const pc of cfg.proxies) {
    if (pc.disabled) continue;
    for (const sc of pc.servers) {
      if (resolveAddr(sc.addr) !== null) continue;
      const where = `parsing [${sc.file}:${sc.line}] : 'server ${sc.name}' : could not resolve address '${sc.addr.host}'`;
      if (o.resolveDontFail) {
        logWarningLine(`${where}, disabling server.`);
        unresolvedServers.add(sc);
      } else {
        fatal.push(`${where}.`);
        srvFail = true;
      }
    }
  }
  if (srvFail) fatal.push("Failed to initialize server(s) addr.");
  return fatal;
}

/** Build a sockaddr for <host>/<port>; the family is taken from the numeric address. */
export function makeSockaddr(fam: string, host: string, port: number): { buf: Buffer; len: number; family: string } | null {
  const family = fam === "unix" ? "unix" : host.includes(":") ? "ipv6" : "ipv4";
  const buf = Buffer.alloc(C.SOCKADDR_MAX);
  const len = native.sockaddrFrom(family, host, port, buf);
  if (len < 0) return null;
  return { buf, len, family };
}

/**
 * The ConnSource of a `source` address (HAProxy: struct conn_src filled by the parser), or an
 * error message.
 */
export function makeConnSource(a: ParsedAddress): ConnSource | string {
  const host = resolveAddr(a);
  if (host === null) return `could not resolve address '${a.host}'`;
  const sa = makeSockaddr(a.family, host, a.portLow);
  if (!sa) return `invalid address '${a.raw}'`;
  return {
    addr: sa.buf, addrLen: sa.len, family: sa.family, host, portLow: a.portLow, portHigh: a.portHigh,
    nextPort: a.portLow, inet: host !== "0.0.0.0" && host !== "::" && !/^[0:]+$/.test(host),
  };
}

/**
 * Build proxies, servers and listeners from the configuration. Returns the alerts (empty when all
 * went well).
 */
export function buildProxies(cfg: ParsedConfig, o: CliOptions): string[] {
  const alerts: string[] = [];
  const byName = new Map<string, Proxy>();
  let uuid = 1;
  for (const pc of cfg.proxies) {
    if (pc.disabled) continue;
    const p = new Proxy(pc, uuid++);
    if (!p.maxconn) p.maxconn = o.maxpconn || DEFAULT_MAXCONN;
    p.initialMaxconn = p.maxconn;
    byName.set(pc.name, p);
    proxies.push(p);
    if (pc.source) {
      const src = makeConnSource(pc.source);
      if (typeof src === "string") alerts.push(`parsing [${pc.file}:${pc.line}] : 'source ${pc.source.raw}' : ${src}.`);
      else p.connSrc = src;
    }
  }
  for (const p of proxies) {
    const pc = p.cfg;
    if (pc.cap.fe) {
      // The first unconditional use_backend (HAProxy evaluates the switching rules in order; the
      // conditional ones run as the AN_REQ_SWITCHING_RULES analyser, src/proxy/tcp_rules.ts).
      const uncond = pc.useBackends.find((u) => !u.cond);
      const target = !pc.useBackends.some((u) => u.cond) && uncond ? uncond.name : pc.defaultBackend;
      p.defbe = target ? byName.get(target) ?? null : pc.cap.be ? p : null;
      if (target && !p.defbe) alerts.push(`Proxy '${pc.name}': unable to find required default_backend: '${target}'.`);
    }
    let puid = 1;
    for (const sc of pc.servers) {
      const srv = new Server(sc, p, puid++);
      serverCheckInit(srv);
      if (unresolvedServers.has(sc)) {
        // HAProxy -dr: no address (0.0.0.0), in maintenance until an address is set.
        srv.curAdmin |= SRV_ADMF_RMAINT;
        srv.nextAdmin |= SRV_ADMF_RMAINT;
        srv.curState = srv.nextState = SRV_ST_STOPPED;
      }
      const host = unresolvedServers.has(sc) ? "0.0.0.0" : resolveAddr(sc.addr);
      if (host === null) {
        alerts.push(`parsing [${sc.file}:${sc.line}] : 'server ${sc.name}' : could not resolve address '${sc.addr.host}'.`);
        continue;
      }
      const sa = makeSockaddr(sc.addr.family, host, sc.addr.portLow);
      if (!sa) {
        alerts.push(`parsing [${sc.file}:${sc.line}] : 'server ${sc.name}' : invalid address '${sc.addr.raw}'.`);
        continue;
      }
      if (sc.source) {
        const src = makeConnSource(sc.source);
        if (typeof src === "string") {
          alerts.push(`parsing [${sc.file}:${sc.line}] : 'server ${sc.name}' : 'source ${sc.source.raw}' : ${src}.`);
          continue;
        }
        srv.connSrc = src;
      }
      srv.addr = sa.buf;
      srv.addrLen = sa.len;
      srv.host = host;
      srv.port = sc.addr.portLow;
      // The server's family follows its numeric address (a DNS name may give either).
      (sc.addr as { family: string }).family = sa.family;
      p.servers.push(srv);
    }
    if (!pc.cap.fe) continue;
    for (const bc of pc.binds) {
      const host = resolveAddr(bc.addr);
      if (host === null) {
        alerts.push(`parsing [${bc.file}:${bc.line}] : 'bind ${bc.raw}' : could not resolve address '${bc.addr.host}'.`);
        continue;
      }
      for (let port = bc.addr.portLow; port <= Math.max(bc.addr.portLow, bc.addr.portHigh); port++) {
        const sa = makeSockaddr(bc.addr.family, host, port);
        if (!sa) {
          alerts.push(`parsing [${bc.file}:${bc.line}] : 'bind ${bc.raw}' : invalid address.`);
          break;
        }
        const label = sa.family === "unix" ? host : sa.family === "ipv6" ? `${host}:${port}` : `${host}:${port}`;
        const l = new Listener(p, bc, {
          addr: sa.buf, addrLen: sa.len, family: sa.family, label,
          maxconn: bc.maxconn || p.maxconn, backlog: bc.backlog || pc.backlog || 0,
          maxaccept: listenerMaxaccept(cfg.global.tuneMaxaccept || 64, cfg.global.nbproc),
          accept: acceptStream,
        });
        createListener(l);
        l.setState(LI_ASSIGNED);
        p.listeners.push(l);
      }
    }
  }
  // ACL-based rules: stick tables, then each rule bound to its proxies, servers and tables.
  alerts.push(...proxyRulesInit(proxies, (n) => byName.get(n)));
  return alerts;
}

/**
 * HAProxy's per-listener maxaccept (check_config_validity()): with several processes, each takes a
 * share of half of it, for fairness between processes; -1 (unlimited) stays.
 */
export function listenerMaxaccept(maxaccept: number, nbproc: number): number {
  if (maxaccept <= 0) return maxaccept;
  if (nbproc > 1) maxaccept = Math.floor((maxaccept + 1) / 2);
  return Math.floor((maxaccept + nbproc - 1) / nbproc);
}

/**
 * l->accept for proxy listeners (HAProxy: session_accept_fd): a stream, or first an embryonic
 * session waiting for its PROXY header (accept-proxy).
 */
export function acceptStream(l: Listener, cfd: number, addr: Buffer, addrLen: number): boolean {
  return sessionAcceptFd(l, cfd, addr, addrLen);
}
