#!/usr/bin/env node
"use strict";
/*
 * The Node peer of the proxy bench: a TCP proxy written the way a Node user would write one, with
 * `net` and pipe(). One process, one thread of JavaScript (libuv's epoll underneath).
 *
 *   node node-net-proxy.js <listenHost:port>=<targetHost:port> [...]
 *
 * Each accepted socket gets a connection to the target; data is piped both ways. Half-closes are
 * propagated (allowHalfOpen + pipe's end()), errors destroy both sides. TCP_NODELAY is set on both
 * sockets, as HAProxy and hapoll do, so Nagle's algorithm does not decide the latency figures.
 * SIGTERM exits through process.exit() so that `node --cpu-prof` can write its profile.
 */
const net = require("node:net");

function parseAddr(s) {
  const i = s.lastIndexOf(":");
  if (i < 0) throw new Error(`bad address "${s}" (want host:port)`);
  return { host: s.slice(0, i) || "127.0.0.1", port: Number(s.slice(i + 1)) };
}

const maps = process.argv.slice(2).map((arg) => {
  const [from, to] = arg.split("=");
  if (!from || !to) throw new Error(`bad mapping "${arg}" (want listen=target)`);
  return { from: parseAddr(from), to: parseAddr(to) };
});
if (maps.length === 0) {
  process.stderr.write("usage: node node-net-proxy.js <listenHost:port>=<targetHost:port> [...]\n");
  process.exit(2);
}

for (const { from, to } of maps) {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = net.connect({ host: to.host, port: to.port, allowHalfOpen: true, noDelay: true });
    const destroyBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", destroyBoth);
    upstream.on("error", destroyBoth);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.on("error", (err) => {
    process.stderr.write(`node-net-proxy: ${from.host}:${from.port}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen({ host: from.host, port: from.port, backlog: 4096 });
}

process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
