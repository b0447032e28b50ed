/**
 * What a stream logs: the tcplog line, log-format, the "Connect from" line and -d debug lines.
 * HAProxy 1.8: sess_log() and the log-format engine of src/log.c, src/frontend.c (the "Connect from"
 * line and the .accept debug line). The sender (syslog targets, alerts, warnings) is src/core/log.ts.
 */
import { native } from "../native";
import { counters } from "../core/global";
import { logDate, logHostname, sendProxyLog, LOG_INFO } from "../core/log";
import type { LogFormatNode } from "../config/logformat";
import { connGetToAddr, CO_FL_ADDR_TO_SET } from "../net/connection";
import { SESS_FIN_STATE, SESS_TERM_COND, SF_ERR_MASK, SF_ERR_SHIFT, SF_FINST_MASK, SF_FINST_SHIFT, SF_REDISP } from "../types/stream-t";
import type { Stream } from "./stream";

/** "ip:port" of a sockaddr, as HAProxy prints %ci:%cp. */
export function addrString(sa: Buffer, len: number): [string, number] {
  const info = native.sockaddrInfo(sa, len);
  if (!info) return ["-", 0];
  if (info.family === "unix") return ["unix", 0];
  return [info.address, info.port];
}

/**
 * HAProxy's TCP log line (option tcplog):
 * `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq`.
 */
export function formatTcpLog(s: Stream): string {
  const [ci, cp] = addrString(s.cliAddr, s.cliAddrLen);
  const srv = s.target;
  const tw = s.tQueue >= 0 ? s.tQueue : -1;
  const tc = s.tConnect >= 0 && s.tQueue >= 0 ? s.tConnect - s.tQueue : -1;
  const tt = s.tClose >= 0 ? s.tClose : s.elapsed();
  const ts = SESS_TERM_COND[(s.flags & SF_ERR_MASK) >>> SF_ERR_SHIFT] + SESS_FIN_STATE[(s.flags & SF_FINST_MASK) >>> SF_FINST_SHIFT];
  // %rc: retries done, "+" when the stream was redispatched (HAProxy: SF_REDISP).
  const left = s.si[1].connRetries;
  const retries = left > 0 ? s.be.cfg.retries - left : s.be.cfg.retries;
  return `${ci}:${cp} [${logDate(s.acceptDateMs)}] ${s.fe.id} ${s.be.id}/${srv ? srv.id : "<NOSRV>"} ` +
    `${tw}/${tc}/${tt} ${s.res.total} ${ts} ` +
    `${counters.actconn}/${s.fe.feconn}/${s.be.beconn}/${srv ? srv.curSess : 0}/${s.flags & SF_REDISP ? "+" : ""}${retries} ` +
    `${s.srvQueueSize}/${s.prxQueueSize}`;
}

/**
 * HAProxy: the end-of-stream log (sess_log via s->do_log) for proxies with `option tcplog`, and the
 * "Connect from" line at accept for proxies that log without a format. `option dontlognull` skips
 * streams that carried no request byte.
 */
export function sendStreamLog(s: Stream): void {
  const fe = s.fe;
  if (!fe.cfg.logs.length || (!fe.cfg.options.tcplog && !fe.cfg.logFormat)) return;
  if (fe.cfg.options.dontlognull && s.req.total === 0) return;
  const line = fe.cfg.logFormat ? buildLogLine(s, fe.cfg.logFormat) : formatTcpLog(s);
  sendProxyLog(fe, LOG_INFO, line);
}

/**
 * HAProxy: build_logline() for the variables that mean something in TCP mode; the HTTP ones
 * (%r, %ST, %hr, %CC, %HM...) and the SSL ones log "-", as they do on a TCP stream.
 */
export function buildLogLine(s: Stream, nodes: LogFormatNode[]): string {
  let out = "";
  for (const n of nodes) {
    if (n.kind === "text") {
      out += n.text;
      continue;
    }
    const v = logVar(s, n.name);
    out += n.quote ? `"${v}"` : v;
  }
  return out;
}

const bindAddrBuf = Buffer.alloc(128);

/** The text of one log-format variable for <s>. HAProxy: the LOG_FMT_* cases of build_logline(). */
function logVar(s: Stream, name: string): string {
  const srv = s.target;
  switch (name) {
    case "ci": case "cp": {
      const [ci, cp] = addrString(s.cliAddr, s.cliAddrLen);
      return name === "ci" ? ci : String(cp);
    }
    case "fi": case "fp": {
      const cc = s.si[0].conn;
      connGetToAddr(cc);
      if (!(cc.flags & CO_FL_ADDR_TO_SET)) return "-";
      const [fi, fp] = addrString(cc.toAddr!, cc.toAddrLen);
      return name === "fi" ? fi : String(fp);
    }
    case "bi": case "bp": {
      // The server connection's own address while its fd is open (hapoll keeps no copy of it).
      const fd = s.si[1].conn.fd;
      if (fd < 0) return "-";
      const len = native.getsockname(fd, bindAddrBuf);
      if (len <= 0) return "-";
      const [bi, bp] = addrString(bindAddrBuf, len);
      return name === "bi" ? bi : String(bp);
    }
    case "si": case "sp":
      if (!srv) return "-";
      return name === "si" ? srv.host : String(srv.port);
    case "f": case "ft": return s.fe.id;
    case "b": return s.be.id;
    case "s": return srv ? srv.id : "<NOSRV>";
    case "t": return logDate(s.acceptDateMs);
    case "Tw": return String(s.tQueue >= 0 ? s.tQueue : -1);
    case "Tc": return String(s.tConnect >= 0 && s.tQueue >= 0 ? s.tConnect - s.tQueue : -1);
    case "Tt": return String(s.tClose >= 0 ? s.tClose : s.elapsed());
    case "Ta": return String(s.tClose >= 0 ? s.tClose : s.elapsed());
    case "B": return String(s.res.total);
    case "U": return String(s.req.total);
    case "ts": case "tsc":
      return SESS_TERM_COND[(s.flags & SF_ERR_MASK) >>> SF_ERR_SHIFT] + SESS_FIN_STATE[(s.flags & SF_FINST_MASK) >>> SF_FINST_SHIFT] +
        (name === "tsc" ? "--" : "");
    case "ac": return String(counters.actconn);
    case "fc": return String(s.fe.feconn);
    case "bc": return String(s.be.beconn);
    case "sc": return String(srv ? srv.curSess : 0);
    case "rc": {
      const left = s.si[1].connRetries;
      const retries = left > 0 ? s.be.cfg.retries - left : s.be.cfg.retries;
      return `${s.flags & SF_REDISP ? "+" : ""}${retries}`;
    }
    case "sq": return String(s.srvQueueSize);
    case "bq": return String(s.prxQueueSize);
    case "pid": return String(process.pid);
    case "H": return logHostname;
    case "ms": return String(new Date(s.acceptDateMs).getMilliseconds()).padStart(3, "0");
    case "Ts": return String(Math.floor(s.acceptDateMs / 1000));
    case "lc": return "0";
    default: return "-";
  }
}

/** HAProxy: frontend_accept()'s "Connect from" line (a proxy that logs without option tcplog). */
export function sendConnectLog(s: Stream): void {
  const fe = s.fe;
  if (!fe.cfg.logs.length || fe.cfg.options.tcplog) return;
  const [ci, cp] = addrString(s.cliAddr, s.cliAddrLen);
  // HAProxy: conn_get_to_addr(): the PROXY header's destination when there was one.
  const cc = s.si[0].conn;
  connGetToAddr(cc);
  const [li, lp] = cc.flags & CO_FL_ADDR_TO_SET ? addrString(cc.toAddr!, cc.toAddrLen) : ["-", 0];
  if (ci === "unix") sendProxyLog(fe, LOG_INFO, `Connect to unix:${s.listener.fd} (${fe.id}/TCP)`);
  else sendProxyLog(fe, LOG_INFO, `Connect from ${ci}:${cp} to ${li}:${lp} (${fe.id}/TCP)`);
}

function hex4(n: number): string {
  return ((n & 0xffff) >>> 0).toString(16).padStart(4, "0");
}

/** -d debug line for <ev> ("accept", "clicls", "srvcls", "closed"), as HAProxy writes them to stdout. */
export function debugStreamLine(s: Stream, ev: string, cfd: number, sfd: number): string {
  const id = (s.uniqId >>> 0).toString(16).padStart(8, "0");
  if (ev === "accept") {
    const [ci, cp] = addrString(s.cliAddr, s.cliAddrLen);
    const from = ci === "unix" ? `unix:${s.listener.fd}` : `${ci}:${cp}`;
    return `${id}:${s.fe.id}.accept(${hex4(s.listener.fd)})=${hex4(cfd)} from [${from}] ALPN=<none>\n`;
  }
  return `${id}:${s.be.id}.${ev}[${hex4(cfd)}:${hex4(sfd)}]\n`;
}
