/**
 * Typed loader for the C++ addon (build/Release/hapoll.node). This is the only file that touches it.
 *
 * The contract (every native function follows it):
 * - Syscall wrappers return a number: >= 0 on success (a count, an fd, a length), -errno on failure.
 *   They never throw for a failing syscall.
 * - Only programmer errors (an argument of the wrong type) throw a TypeError. An out-of-range offset,
 *   length or fd is not a type error: it gives -EINVAL (or the -errno the kernel gives, e.g. -EBADF).
 * - EINTR is retried inside the waits (with the remaining time) and inside send/recv/accept/connect
 *   where that is safe; close() is never retried.
 *
 * Event bits written by NativePoller.poll() into its output array are HAProxy's FD_POLL_* values;
 * the backends translate EPOLL*, POLL*, fd_set and EVFILT_* to them, so TypeScript never sees those.
 */
// "bindings" ships no type declarations (and @types/bindings is not a dependency): type it here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bindings = require("bindings") as (name: string) => unknown;

/** Polled-direction mask used in the change list: bit 0 read, bit 1 write. */
export const POLL_DIR_R = 0x1;
export const POLL_DIR_W = 0x2;

/**
 * One poller backend instance (epoll fd, kqueue fd, or poll/select bitmaps) in native memory.
 * HAProxy: struct poller (include/types/fd.h) and src/ev_*.c.
 */
export interface NativePoller {
  /** Backend name: "epoll", "kqueue", "poll" or "select". */
  readonly name: string;
  /** Create the kernel object / bitmaps for fds in [0, maxsock). 0 or -errno. */
  init(): number;
  /** Release everything init() made. Idempotent. */
  term(): void;
  /** After fork(): epoll/kqueue re-create their kernel object and re-register nothing. 0 or -errno. */
  fork(): number;
  /**
   * Apply polling changes, wait, report events. One native crossing per loop turn.
   * <changes> holds <nchanges> triples (fd, oldPolled, newPolled) with POLL_DIR_* masks; only entries
   * whose polled mask changed are passed. <timeoutMs> -1 waits forever, 0 does not wait.
   * Events go to <out> as (fd, FD_POLL_* bits) pairs, at most out.length/2 of them.
   * Returns the number of pairs written (0 on timeout or when a caught signal woke the wait),
   * or -errno. Change entries with an fd outside [0, maxsock) are skipped.
   * With <times> (at least 2 entries, else -EINVAL), the clock of process.hrtime() in ms is written
   * to times[0] just before the wait and to times[1] just after it (the loop then needs no clock read
   * of its own). Each array may be given as its ArrayBuffer instead (the cheaper form: the loop's);
   * a detached one has length 0.
   */
  poll(
    changes: Int32Array | ArrayBuffer, nchanges: number, maxfd: number, timeoutMs: number, out: Int32Array | ArrayBuffer,
    times?: Float64Array | ArrayBuffer,
  ): number;
  /** Forget <fd> (it is being closed): clear its bits (poll/select); epoll/kqueue: delete it. 0 or -errno. */
  clo(fd: number): number;
}

/** Constructor of NativePoller: new NativePoller(name, maxsock). TypeError on bad argument types. */
export interface NativePollerCtor {
  new (name: string, maxsock: number): NativePoller;
}

/** Socket-level constants of this platform (values differ between Linux and macOS). */
export interface NativeConstants {
  /** HAProxy's FD_POLL_* event bits, defined once in native/poller.h. */
  FD_POLL_IN: number;
  FD_POLL_PRI: number;
  FD_POLL_OUT: number;
  FD_POLL_ERR: number;
  FD_POLL_HUP: number;
  FD_POLL_RDHUP_SEEN: number;
  AF_INET: number;
  AF_INET6: number;
  AF_UNIX: number;
  SOCK_STREAM: number;
  SOCK_DGRAM: number;
  /** socket() type flag creating a non-blocking socket (Linux); 0 where the platform has none. */
  SOCK_NONBLOCK: number;
  SOL_SOCKET: number;
  SO_REUSEADDR: number;
  IPPROTO_IP: number;
  /** -1 where the system lacks it. */
  IP_BIND_ADDRESS_NO_PORT: number;
  /** -1 where the platform has none. */
  SO_REUSEPORT: number;
  SO_KEEPALIVE: number;
  SO_ERROR: number;
  SO_RCVBUF: number;
  SO_SNDBUF: number;
  IPPROTO_TCP: number;
  IPPROTO_IPV6: number;
  TCP_NODELAY: number;
  IPV6_V6ONLY: number;
  SHUT_RD: number;
  SHUT_WR: number;
  SHUT_RDWR: number;
  /** getsockopt(SOL_SOCKET) option: 1 when the socket listens. */
  SO_ACCEPTCONN: number;
  /** Linux TCP options of 1.8's tcp_bind_listener(); -1 where the platform lacks them. */
  TCP_QUICKACK: number;
  TCP_USER_TIMEOUT: number;
  TCP_DEFER_ACCEPT: number;
  TCP_FASTOPEN: number;
  /** The most descriptors one sendFds() carries (HAProxy: MAX_SEND_FD, 253). */
  MAX_SEND_FD: number;
  /** select()'s limit on fd numbers. */
  FD_SETSIZE: number;
  /** Size a Buffer must have to receive any sockaddr (sizeof(struct sockaddr_storage)). */
  SOCKADDR_MAX: number;
  /** Whether splice() is available (Linux). */
  HAVE_SPLICE: number;
  /** 1 when the kqueue backend is libkqueue (the Linux test build): its filters outlive close(). */
  KQUEUE_IS_LIBKQUEUE: number;
}

/** Decoded socket address, for logs and the CLI (not for the hot path). */
export interface SockAddrInfo {
  family: "ipv4" | "ipv6" | "unix";
  address: string;
  port: number;
}

/** Everything the addon exports. */
export interface NativeBinding {
  constants: NativeConstants;
  /** Backends compiled into this build, in registration order (epoll or kqueue first, then poll, select). */
  pollerNames(): string[];
  /** HAProxy's _do_test: can this backend run with <maxsock> fds? 0 or -errno (select: -EMFILE above FD_SETSIZE). */
  pollerTest(name: string, maxsock: number): number;
  NativePoller: NativePollerCtor;

  // --- sockets: all return >= 0 or -errno ---
  /** socket(<family>, <type>, <protocol>) with FD_CLOEXEC set. */
  socket(family: number, type: number, protocol: number): number;
  /** Set O_NONBLOCK. */
  setNonblock(fd: number): number;
  bind(fd: number, sa: Buffer, salen: number): number;
  listen(fd: number, backlog: number): number;
  /** accept4(SOCK_NONBLOCK|SOCK_CLOEXEC) where available, else accept + fcntl. Peer address into <sa> (>= SOCKADDR_MAX bytes). */
  accept(fd: number, sa: Buffer): number;
  connect(fd: number, sa: Buffer, salen: number): number;
  /** recv into buf[off, off+len). 0 means EOF. */
  recv(fd: number, buf: Buffer, off: number, len: number): number;
  /** send buf[off, off+len) without SIGPIPE (MSG_NOSIGNAL / SO_NOSIGPIPE). <more> sets MSG_MORE where available. */
  send(fd: number, buf: Buffer, off: number, len: number, more: number): number;
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
  /** An int option's value; a negative value is reported as -ERANGE (it would read as an error). */
  getsockoptInt(fd: number, level: number, opt: number): number;
  setsockoptInt(fd: number, level: number, opt: number, value: number): number;
  /** SO_LINGER {onoff, linger}. */
  setLinger(fd: number, onoff: number, seconds: number): number;
  /** Discard what the socket holds (recv with MSG_TRUNC); bytes discarded, 0 at EOF, or -errno. */
  recvTrunc(fd: number): number;
  /** getsockopt(SO_LINGER), then {0, 0} when lingering is on or its delay is 0 (HAProxy's listener reset). */
  resetLinger(fd: number): number;
  /** getsockname into <sa>; returns the address length. */
  getsockname(fd: number, sa: Buffer): number;
  getpeername(fd: number, sa: Buffer): number;
  /** Build a sockaddr from a numeric address: family is "ipv4" | "ipv6" | "unix". Returns its length or -EINVAL. */
  sockaddrFrom(family: string, address: string, port: number, out: Buffer): number;
  /** Decode a sockaddr written by accept/getsockname/sockaddrFrom, or null if its family is unknown. */
  sockaddrInfo(sa: Buffer, salen: number): SockAddrInfo | null;
  /** Resolve a host name at configuration time (blocking getaddrinfo). Numeric address string or -errno (EAI_* mapped to -ENOENT). */
  resolveHost(host: string, family: string): string | number;
  /** socketpair(AF_UNIX, type) into out[0], out[1] (both non-blocking, close-on-exec). 0 or -errno. */
  socketpair(type: number, out: Int32Array): number;
  /** pipe() into out[0], out[1] (non-blocking, close-on-exec). 0 or -errno. */
  pipe(out: Int32Array): number;
  /** splice(<fdIn>, <fdOut>, <len>, SPLICE_F_MOVE|SPLICE_F_NONBLOCK); -ENOSYS where unsupported. */
  splice(fdIn: number, fdOut: number, len: number): number;
  /** RLIMIT_NOFILE: writes soft, hard into out[0], out[1] (Float64Array; Infinity for unlimited). 0 or -errno. */
  getNofile(out: Float64Array): number;
  setNofile(soft: number, hard: number): number;
  /** write(2) on any fd (used for the built-in echo server and tests). */
  write(fd: number, buf: Buffer, off: number, len: number): number;
  /** read(2) on any fd. */
  read(fd: number, buf: Buffer, off: number, len: number): number;
  /**
   * sendmsg() of buf[off, off+len) carrying fds[0..nfds) as SCM_RIGHTS (none when <nfds> is 0,
   * at most MAX_SEND_FD). The socket's blocking mode applies. Bytes sent or -errno.
   */
  sendFds(fd: number, buf: Buffer, off: number, len: number, fds: Int32Array, nfds: number): number;
  /**
   * recvmsg() into buf[off, off+len). Received descriptors (close-on-exec) land in fds[1..] and
   * their count in fds[0]; any that do not fit are closed. <waitall> sets MSG_WAITALL. The
   * socket's blocking mode and receive timeout apply. Bytes received (0: EOF) or -errno.
   */
  recvFds(fd: number, buf: Buffer, off: number, len: number, fds: Int32Array, waitall: number): number;
  /** Clear O_NONBLOCK. 0 or -errno. */
  setBlocking(fd: number): number;
  /** SO_RCVTIMEO in milliseconds (0: wait forever). 0 or -errno. */
  setRecvTimeout(fd: number, ms: number): number;

  // --- signals (HAProxy: src/signal.c) ---
  /**
   * Set up signal capture once per process and return the shared counters: counts[0] is how many
   * signals are queued (any), counts[sig] how many times <sig> arrived since the last signalTake().
   * The handler also writes to a self-pipe that every NativePoller watches, so a signal that arrives
   * while the thread is blocked in the wait ends that wait within the same turn.
   */
  signalInit(): Int32Array;
  /** mode 0: default action, 1: ignore, 2: catch into the queue. 0 or -errno. */
  signalMode(sig: number, mode: number): number;
  /** Atomically move the counts into <out> (same layout) and zero them; returns how many signals were pending. */
  signalTake(out: Int32Array): number;
}

/**
 * The loaded addon: build/Release/hapoll.node, or the .node file named by HAPOLL_ADDON (an absolute
 * path, or relative to the working directory). scripts/kqueue.sh uses it to run the CLI and the tests
 * over the Linux build of the kqueue backend (against libkqueue) in build-kqueue/; a wrong path fails
 * here, it never falls back to the normal build.
 */
export const native = (process.env.HAPOLL_ADDON
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ? require(require("node:path").resolve(process.env.HAPOLL_ADDON))
  : bindings("hapoll")) as NativeBinding;
export const C = native.constants;

/**
 * FD_POLL_* bits as HAProxy 1.8 defines them (include/types/fd.h), read from the addon, which
 * defines them once (native/poller.h) and writes them into NativePoller.poll()'s output.
 */
export const FD_POLL_IN = C.FD_POLL_IN;
export const FD_POLL_PRI = C.FD_POLL_PRI;
export const FD_POLL_OUT = C.FD_POLL_OUT;
export const FD_POLL_ERR = C.FD_POLL_ERR;
export const FD_POLL_HUP = C.FD_POLL_HUP;
/** Not an HAProxy FD_POLL_* bit: set by epoll/kqueue with HUP when the peer's FIN (RDHUP) was seen. */
export const FD_POLL_RDHUP_SEEN = C.FD_POLL_RDHUP_SEEN;
