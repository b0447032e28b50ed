/*
 * Socket, pipe and rlimit syscall wrappers. Every function returns >= 0 or
 * -errno; only a wrong argument type throws (a TypeError, from Args).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <climits>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "addon.h"
#include "poller.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif
#ifndef MSG_MORE
#define MSG_MORE 0
#endif
#ifndef MSG_DONTWAIT
#define MSG_DONTWAIT 0
#endif

namespace {

typedef Napi::Value (*Fn)(const Napi::CallbackInfo &);

Napi::Value Ret(Napi::Env env, double r) { return Napi::Number::New(env, r); }
Napi::Value Err(Napi::Env env) { return Napi::Number::New(env, -errno); }

/* [off, off+len) must lie inside a buffer of <size> bytes; doubles keep huge
 * or NaN arguments from wrapping around before the comparison. */
bool RangeOk(double off, double len, size_t size) {
  if (!(off >= 0 && len >= 0) || off != floor(off) || len != floor(len))
    return false;
  return off + len <= (double)size;
}

/* Without MSG_NOSIGNAL (macOS) the socket itself must refuse SIGPIPE. */
void NoSigpipe(int fd) {
#ifdef SO_NOSIGPIPE
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#endif
}

#if !defined(__linux__) || !defined(HAVE_ACCEPT4)
int SetFlags(int fd, bool nonblock) {
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
    return -1;
  if (nonblock) {
    int fl = fcntl(fd, F_GETFL);
    if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
      return -1;
  }
  return 0;
}
#endif

Napi::Value Socket(const Napi::CallbackInfo &info) {
  Args a(info, "socket");
  double f = a.Num(0), t = a.Num(1), p = a.Num(2);
  if (!a.ok)
    return info.Env().Undefined();
  int family, type, proto;
  if (!ToInt(f, &family) || !ToInt(t, &type) || !ToInt(p, &proto))
    return Ret(info.Env(), -EINVAL);
#ifdef SOCK_CLOEXEC
  int fd = socket(family, type | SOCK_CLOEXEC, proto);
  if (fd == -1)
    return Err(info.Env());
#else
  int fd = socket(family, type, proto);
  if (fd == -1)
    return Err(info.Env());
  if (SetFlags(fd, false) == -1) {
    int err = errno;
    close(fd);
    return Ret(info.Env(), -err);
  }
#endif
  NoSigpipe(fd);
  return Ret(info.Env(), fd);
}

Napi::Value SetNonblock(const Napi::CallbackInfo &info) {
  Args a(info, "setNonblock");
  int fd = a.Fd(0);
  if (!a.ok)
    return info.Env().Undefined();
  /* One F_SETFL, as HAProxy does on the sockets it creates (no other status flag is set on them). */
  if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
    return Err(info.Env());
  return Ret(info.Env(), 0);
}

/* bind() and connect() share the (fd, sa, salen) shape. */
template <int (*call)(int, const struct sockaddr *, socklen_t)>
Napi::Value SockaddrCall(const Napi::CallbackInfo &info, const char *fn) {
  Args a(info, fn);
  int fd = a.Fd(0);
  uint8_t *sa;
  size_t size;
  a.Bytes(1, &sa, &size);
  double dlen = a.Num(2);
  if (!a.ok)
    return info.Env().Undefined();
  int salen;
  if (!ToInt(dlen, &salen) || salen < 0 || (size_t)salen > size)
    return Ret(info.Env(), -EINVAL);
  if (call(fd, (const struct sockaddr *)sa, (socklen_t)salen) == -1)
    return Err(info.Env());
  return Ret(info.Env(), 0);
}

int DoBind(int fd, const struct sockaddr *sa, socklen_t len) { return bind(fd, sa, len); }
/* Not retried on EINTR: the connection attempt goes on asynchronously. */
int DoConnect(int fd, const struct sockaddr *sa, socklen_t len) { return connect(fd, sa, len); }

Napi::Value Bind(const Napi::CallbackInfo &info) { return SockaddrCall<DoBind>(info, "bind"); }
Napi::Value Connect(const Napi::CallbackInfo &info) { return SockaddrCall<DoConnect>(info, "connect"); }

/* listen() and shutdown() share the (fd, int) shape. */
template <int (*call)(int, int)>
Napi::Value FdIntCall(const Napi::CallbackInfo &info, const char *fn) {
  Args a(info, fn);
  int fd = a.Fd(0);
  double d = a.Num(1);
  if (!a.ok)
    return info.Env().Undefined();
  int v;
  if (!ToInt(d, &v))
    return Ret(info.Env(), -EINVAL);
  if (call(fd, v) == -1)
    return Err(info.Env());
  return Ret(info.Env(), 0);
}

int DoListen(int fd, int backlog) { return listen(fd, backlog); }
int DoShutdown(int fd, int how) { return shutdown(fd, how); }

Napi::Value Listen(const Napi::CallbackInfo &info) { return FdIntCall<DoListen>(info, "listen"); }

Napi::Value Accept(const Napi::CallbackInfo &info) {
  Args a(info, "accept");
  int fd = a.Fd(0);
  uint8_t *sa;
  size_t size;
  a.Bytes(1, &sa, &size);
  if (!a.ok)
    return info.Env().Undefined();
  if (size < sizeof(struct sockaddr_storage))
    return Ret(info.Env(), -EINVAL);
  /* Zeroed so that a short (e.g. unnamed AF_UNIX) address decodes cleanly
   * even though the caller never learns its length. */
  memset(sa, 0, sizeof(struct sockaddr_storage));
  socklen_t len = sizeof(struct sockaddr_storage);
  int cfd;
#ifdef HAVE_ACCEPT4
  do
    cfd = accept4(fd, (struct sockaddr *)sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (cfd == -1 && errno == EINTR);
  if (cfd == -1)
    return Err(info.Env());
#else
  do
    cfd = accept(fd, (struct sockaddr *)sa, &len);
  while (cfd == -1 && errno == EINTR);
  if (cfd == -1)
    return Err(info.Env());
  if (SetFlags(cfd, true) == -1) {
    int err = errno;
    close(cfd);
    return Ret(info.Env(), -err);
  }
  NoSigpipe(cfd);
#endif
  return Ret(info.Env(), cfd);
}

/* recv/send/read/write share (fd, buf, off, len); EINTR is retried. */
enum IoKind { IO_RECV, IO_SEND, IO_READ, IO_WRITE };

template <IoKind kind>
Napi::Value Io(const Napi::CallbackInfo &info, const char *fn) {
  Args a(info, fn);
  int fd = a.Fd(0);
  uint8_t *buf;
  size_t size;
  a.Bytes(1, &buf, &size);
  double off = a.Num(2), len = a.Num(3);
  double more = kind == IO_SEND ? a.Num(4) : 0;
  if (!a.ok)
    return info.Env().Undefined();
  if (!RangeOk(off, len, size))
    return Ret(info.Env(), -EINVAL);
  uint8_t *p = buf + (size_t)off;
  size_t n = (size_t)len;
  ssize_t r;
  do {
    switch (kind) {
    case IO_RECV:
      /* No MSG_DONTWAIT: every socket the loop reads is non-blocking (HAProxy passes 0 too). */
      r = recv(fd, p, n, 0);
      break;
    case IO_SEND:
      r = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT | (more != 0 ? MSG_MORE : 0));
      break;
    case IO_READ:
      r = read(fd, p, n);
      break;
    default:
      r = write(fd, p, n);
      break;
    }
  } while (r == -1 && errno == EINTR);
  if (r == -1)
    return Err(info.Env());
  return Ret(info.Env(), (double)r);
}

Napi::Value Read(const Napi::CallbackInfo &info) { return Io<IO_READ>(info, "read"); }
Napi::Value Write(const Napi::CallbackInfo &info) { return Io<IO_WRITE>(info, "write"); }

Napi::Value Shutdown(const Napi::CallbackInfo &info) { return FdIntCall<DoShutdown>(info, "shutdown"); }

/*
 * recv() and send() are the calls made for every event, so they are plain napi_callbacks: no
 * node-addon-api CallbackInfo/wrapper layer, the arguments read into a stack array, the result
 * returned as an int32 (a small integer, never a heap number). Same contract and messages as Io<>.
 */
bool RawFail(napi_env env, const char *fn, int i, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    std::string msg = std::string(fn) + ": argument " + std::to_string(i + 1) + " must be " + what;
    napi_throw_type_error(env, nullptr, msg.c_str());
  }
  return false;
}

napi_value RawRet(napi_env env, ssize_t r) {
  napi_value v;
  napi_create_int32(env, (int32_t)r, &v);
  return v;
}

template <IoKind kind>
napi_value RawIo(napi_env env, napi_callback_info cbi) {
  const char *fn = kind == IO_SEND ? "send" : "recv";
  napi_value argv[5];
  size_t argc = 5;
  napi_get_cb_info(env, cbi, &argc, argv, nullptr, nullptr);
  napi_value undef = nullptr;
  napi_get_undefined(env, &undef);
  for (size_t i = argc; i < 5; i++)
    argv[i] = undef;
  double d[5] = {0, 0, 0, 0, 0};
  void *data = nullptr;
  size_t size = 0;
  size_t nargs = kind == IO_SEND ? 5 : 4;
  for (size_t i = 0; i < nargs; i++) {
    if (i == 1) {
      if (napi_get_buffer_info(env, argv[1], &data, &size) != napi_ok) {
        RawFail(env, fn, 1, "a Buffer");
        return nullptr;
      }
    } else if (napi_get_value_double(env, argv[i], &d[i]) != napi_ok) {
      RawFail(env, fn, (int)i, "a number");
      return nullptr;
    }
  }
  int fd;
  if (!ToInt(d[0], &fd))
    fd = -1;
  if (!RangeOk(d[2], d[3], size))
    return RawRet(env, -EINVAL);
  uint8_t *p = (uint8_t *)data + (size_t)d[2];
  size_t n = (size_t)d[3];
  ssize_t r;
  do {
    if (kind == IO_SEND)
      r = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT | (d[4] != 0 ? MSG_MORE : 0));
    else
      r = recv(fd, p, n, 0);
  } while (r == -1 && errno == EINTR);
  return RawRet(env, r == -1 ? -errno : r);
}


Napi::Value Close(const Napi::CallbackInfo &info) {
  Args a(info, "close");
  int fd = a.Fd(0);
  if (!a.ok)
    return info.Env().Undefined();
  /* Never retried: after EINTR the fd is already gone on Linux and a retry
   * could close a descriptor another thread just opened. */
  if (close(fd) == -1)
    return Err(info.Env());
  return Ret(info.Env(), 0);
}

Napi::Value GetsockoptInt(const Napi::CallbackInfo &info) {
  Args a(info, "getsockoptInt");
  int fd = a.Fd(0);
  double l = a.Num(1), o = a.Num(2);
  if (!a.ok)
    return info.Env().Undefined();
  int level, opt;
  if (!ToInt(l, &level) || !ToInt(o, &opt))
    return Ret(info.Env(), -EINVAL);
  int v = 0;
  socklen_t vlen = sizeof(v);
  if (getsockopt(fd, level, opt, &v, &vlen) == -1)
    return Err(info.Env());
  /* A negative value could not be told from an error: no option hapoll reads has one. */
  if (v < 0)
    return Ret(info.Env(), -ERANGE);
  return Ret(info.Env(), v);
}

Napi::Value SetsockoptInt(const Napi::CallbackInfo &info) {
  Args a(info, "setsockoptInt");
  int fd = a.Fd(0);
  double l = a.Num(1), o = a.Num(2), dv = a.Num(3);
  if (!a.ok)
    return info.Env().Undefined();
  int level, opt, v;
  if (!ToInt(l, &level) || !ToInt(o, &opt) || !ToInt(dv, &v))
    return Ret(info.Env(), -EINVAL);
  if (setsockopt(fd, level, opt, &v, sizeof(v)) == -1)
    return Err(info.Env());
  return Ret(info.Env(), 0);
}

Napi::Value SetLinger(const Napi::CallbackInfo &info) {
  Args a(info, "setLinger");
  int fd = a.Fd(0);
  double on = a.Num(1), secs = a.Num(2);
  if (!a.ok)
    return info.Env().Undefined();
  struct linger lg;
  if (!ToInt(on, &lg.l_onoff) || !ToInt(secs, &lg.l_linger))
    return Ret(info.Env(), -EINVAL);
  if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == -1)
    return Err(info.Env());
  return Ret(info.Env(), 0);
}

/* HAProxy: tcp_drain()'s read: discard whatever is queued without copying it (MSG_TRUNC with no
 * buffer), falling back to a scratch buffer where the kernel wants one (EFAULT). Returns the bytes
 * discarded, 0 at EOF, or -errno. */
Napi::Value RecvTrunc(const Napi::CallbackInfo &info) {
  Args a(info, "recvTrunc");
  int fd = a.Fd(0);
  if (!a.ok)
    return info.Env().Undefined();
  ssize_t r;
  do {
#ifdef MSG_TRUNC
    r = recv(fd, NULL, INT_MAX, MSG_DONTWAIT | MSG_NOSIGNAL | MSG_TRUNC);
    if (r == -1 && errno == EFAULT)
#endif
    {
      static char scratch[16384];
      r = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
  } while (r == -1 && errno == EINTR);
  if (r == -1)
    return Err(info.Env());
  return Ret(info.Env(), (double)r);
}

/* HAProxy's listener linger reset (tcp_bind_listener()): read SO_LINGER and, when lingering is on
 * or its delay is 0, write {0, 0} back. Returns 0 or -errno of the getsockopt. */
Napi::Value ResetLinger(const Napi::CallbackInfo &info) {
  Args a(info, "resetLinger");
  int fd = a.Fd(0);
  if (!a.ok)
    return info.Env().Undefined();
  struct linger lg;
  socklen_t len = sizeof(lg);
  if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len) == -1)
    return Err(info.Env());
  if (lg.l_onoff == 1 || lg.l_linger == 0) {
    lg.l_onoff = 0;
    lg.l_linger = 0;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  }
  return Ret(info.Env(), 0);
}

/* getsockname/getpeername: through a full-size local so that a short Buffer
 * gets a truncated copy instead of an overrun. */
template <int (*call)(int, struct sockaddr *, socklen_t *)>
Napi::Value NameCall(const Napi::CallbackInfo &info, const char *fn) {
  Args a(info, fn);
  int fd = a.Fd(0);
  uint8_t *sa;
  size_t size;
  a.Bytes(1, &sa, &size);
  if (!a.ok)
    return info.Env().Undefined();
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  socklen_t len = sizeof(ss);
  if (call(fd, (struct sockaddr *)&ss, &len) == -1)
    return Err(info.Env());
  if (size > 0)
    memcpy(sa, &ss, size < sizeof(ss) ? size : sizeof(ss));
  return Ret(info.Env(), len);
}

int DoSockname(int fd, struct sockaddr *sa, socklen_t *len) { return getsockname(fd, sa, len); }
int DoPeername(int fd, struct sockaddr *sa, socklen_t *len) { return getpeername(fd, sa, len); }

Napi::Value Getsockname(const Napi::CallbackInfo &info) { return NameCall<DoSockname>(info, "getsockname"); }
Napi::Value Getpeername(const Napi::CallbackInfo &info) { return NameCall<DoPeername>(info, "getpeername"); }

/* "fe80::1%eth0" or "fe80::1%2": split off and resolve the zone. */
bool ParseIpv6(const std::string &s, struct sockaddr_in6 *sin6) {
  size_t pct = s.find('%');
  std::string host = s.substr(0, pct);
  if (inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) != 1)
    return false;
  if (pct == std::string::npos)
    return true;
  std::string zone = s.substr(pct + 1);
  if (zone.empty())
    return false;
  char *end = nullptr;
  unsigned long idx = strtoul(zone.c_str(), &end, 10);
  if (*end != '\0' || idx > 0xffffffffUL) {
    idx = if_nametoindex(zone.c_str());
    if (idx == 0)
      return false;
  }
  sin6->sin6_scope_id = (uint32_t)idx;
  return true;
}

Napi::Value SockaddrFrom(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args a(info, "sockaddrFrom");
  std::string family = a.Str(0);
  std::string addr = a.Str(1);
  double dport = a.Num(2);
  uint8_t *out;
  size_t size;
  a.Bytes(3, &out, &size);
  if (!a.ok)
    return env.Undefined();
  int port;
  if (!ToInt(dport, &port) || port < 0 || port > 65535)
    return Ret(env, -EINVAL);

  if (family == "ipv4") {
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
#ifdef SIN6_LEN
    sin.sin_len = sizeof(sin);
#endif
    if (addr.find('\0') != std::string::npos ||
        inet_pton(AF_INET, addr.c_str(), &sin.sin_addr) != 1 || size < sizeof(sin))
      return Ret(env, -EINVAL);
    memcpy(out, &sin, sizeof(sin));
    return Ret(env, sizeof(sin));
  }
  if (family == "ipv6") {
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons((uint16_t)port);
#ifdef SIN6_LEN
    sin6.sin6_len = sizeof(sin6);
#endif
    if (addr.find('\0') != std::string::npos || !ParseIpv6(addr, &sin6) ||
        size < sizeof(sin6))
      return Ret(env, -EINVAL);
    memcpy(out, &sin6, sizeof(sin6));
    return Ret(env, sizeof(sin6));
  }
  if (family == "unix") {
    struct sockaddr_un su;
    memset(&su, 0, sizeof(su));
    su.sun_family = AF_UNIX;
    size_t plen = addr.size();
    size_t salen;
    if (plen == 0)
      return Ret(env, -EINVAL);
#ifdef __linux__
    if (addr[0] == '\0') {
      /* Abstract namespace: the name is exactly <plen> bytes, no terminator. */
      if (plen > sizeof(su.sun_path))
        return Ret(env, -ENAMETOOLONG);
      salen = offsetof(struct sockaddr_un, sun_path) + plen;
    } else
#endif
    {
      if (addr.find('\0') != std::string::npos)
        return Ret(env, -EINVAL);
      if (plen + 1 > sizeof(su.sun_path))
        return Ret(env, -ENAMETOOLONG);
      salen = offsetof(struct sockaddr_un, sun_path) + plen + 1;
    }
    memcpy(su.sun_path, addr.data(), plen);
#ifdef SIN6_LEN
    su.sun_len = (uint8_t)salen;
#endif
    if (size < salen)
      return Ret(env, -EINVAL);
    memcpy(out, &su, salen);
    return Ret(env, (double)salen);
  }
  return Ret(env, -EINVAL);
}

Napi::Value SockaddrInfo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args a(info, "sockaddrInfo");
  uint8_t *sa;
  size_t size;
  a.Bytes(0, &sa, &size);
  double dlen = a.Num(1);
  if (!a.ok)
    return env.Undefined();
  int salen;
  size_t famend = offsetof(struct sockaddr_storage, ss_family) + sizeof(sa_family_t);
  if (!ToInt(dlen, &salen) || salen < 0 || (size_t)salen > size || (size_t)salen < famend)
    return env.Null();
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  size_t n = (size_t)salen < sizeof(ss) ? (size_t)salen : sizeof(ss);
  memcpy(&ss, sa, n);

  const char *family;
  std::string address;
  int port = 0;
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  if (ss.ss_family == AF_INET && n >= sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
    if (inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)) == nullptr)
      return env.Null();
    family = "ipv4";
    address = text;
    port = ntohs(sin->sin_port);
  } else if (ss.ss_family == AF_INET6 && n >= sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
    if (inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text)) == nullptr)
      return env.Null();
    family = "ipv6";
    address = text;
    if (sin6->sin6_scope_id != 0) {
      char ifname[IF_NAMESIZE];
      address += '%';
      if (if_indextoname(sin6->sin6_scope_id, ifname) != nullptr)
        address += ifname;
      else
        address += std::to_string(sin6->sin6_scope_id);
    }
    port = ntohs(sin6->sin6_port);
  } else if (ss.ss_family == AF_UNIX) {
    const struct sockaddr_un *su = (const struct sockaddr_un *)&ss;
    size_t off = offsetof(struct sockaddr_un, sun_path);
    size_t plen = n > off ? n - off : 0;
    if (plen > sizeof(su->sun_path))
      plen = sizeof(su->sun_path);
    family = "unix";
    if (plen > 0 && su->sun_path[0] == '\0') {
      /* Abstract (Linux) or unnamed: the length the caller passed may be a
       * whole sockaddr_storage, so trailing zero padding is not part of it. */
      while (plen > 1 && su->sun_path[plen - 1] == '\0')
        plen--;
      if (plen > 1)
        address.assign(su->sun_path, plen);
    } else {
      address.assign(su->sun_path, strnlen(su->sun_path, plen));
    }
  } else {
    return env.Null();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("family", family);
  o.Set("address", address);
  o.Set("port", port);
  return o;
}

Napi::Value ResolveHost(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args a(info, "resolveHost");
  std::string host = a.Str(0);
  std::string fam = a.Str(1);
  if (!a.ok)
    return env.Undefined();
  struct addrinfo hints;
  memset(&hints, 0, sizeof(hints));
  if (fam == "ipv4")
    hints.ai_family = AF_INET;
  else if (fam == "ipv6")
    hints.ai_family = AF_INET6;
  else if (fam == "any")
    hints.ai_family = AF_UNSPEC;
  else
    return Ret(env, -EINVAL);
  if (host.empty() || host.find('\0') != std::string::npos)
    return Ret(env, -ENOENT);
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo *res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr)
    return Ret(env, -ENOENT);
  char text[INET6_ADDRSTRLEN];
  const char *s = nullptr;
  for (struct addrinfo *ai = res; ai != nullptr && s == nullptr; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET)
      s = inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, text, sizeof(text));
    else if (ai->ai_family == AF_INET6)
      s = inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, text, sizeof(text));
  }
  freeaddrinfo(res);
  if (s == nullptr)
    return Ret(env, -ENOENT);
  return Napi::String::New(env, s);
}

Napi::Value Socketpair(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args a(info, "socketpair");
  double t = a.Num(0);
  int32_t *out;
  size_t len;
  a.I32(1, &out, &len);
  if (!a.ok)
    return env.Undefined();
  int type;
  if (!ToInt(t, &type) || len < 2)
    return Ret(env, -EINVAL);
  int sv[2];
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  if (socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == -1)
    return Err(env);
#else
  if (socketpair(AF_UNIX, type, 0, sv) == -1)
    return Err(env);
  if (SetFlags(sv[0], true) == -1 || SetFlags(sv[1], true) == -1) {
    int err = errno;
    close(sv[0]);
    close(sv[1]);
    return Ret(env, -err);
  }
#endif
  NoSigpipe(sv[0]);
  NoSigpipe(sv[1]);
  out[0] = sv[0];
  out[1] = sv[1];
  return Ret(env, 0);
}

Napi::Value Pipe(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args a(info, "pipe");
  int32_t *out;
  size_t len;
  a.I32(0, &out, &len);
  if (!a.ok)
    return env.Undefined();
  if (len < 2)
    return Ret(env, -EINVAL);
  int p[2];
#ifdef __linux__
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
    return Err(env);
#else
  if (pipe(p) == -1)
    return Err(env);
  if (SetFlags(p[0], true) == -1 || SetFlags(p[1], true) == -1) {
    int err = errno;
    close(p[0]);
    close(p[1]);
    return Ret(env, -err);
  }
#endif
  out[0] = p[0];
  out[1] = p[1];
  return Ret(env, 0);
}

Napi::Value Splice(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args a(info, "splice");
  int fdin = a.Fd(0);
  int fdout = a.Fd(1);
  double dlen = a.Num(2);
  if (!a.ok)
    return env.Undefined();
#ifdef HAVE_SPLICE
  if (!(dlen >= 0) || dlen != floor(dlen))
    return Ret(env, -EINVAL);
  /* One call moves at most a pipe's worth anyway; cap to keep it in int range. */
  size_t len = dlen > (double)(1 << 30) ? (size_t)(1 << 30) : (size_t)dlen;
  ssize_t r;
  do
    r = splice(fdin, nullptr, fdout, nullptr, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  while (r == -1 && errno == EINTR);
  if (r == -1)
    return Err(env);
  return Ret(env, (double)r);
#else
  (void)fdin;
  (void)fdout;
  (void)dlen;
  return Ret(env, -ENOSYS);
#endif
}

double FromRlim(rlim_t v) {
  return v == RLIM_INFINITY ? INFINITY : (double)v;
}

/* Infinity means unlimited; anything that is not a whole non-negative
 * number representable as rlim_t is rejected. */
bool ToRlim(double d, rlim_t *out) {
  if (d == INFINITY) {
    *out = RLIM_INFINITY;
    return true;
  }
  if (!(d >= 0) || d != floor(d) || d >= 9007199254740992.0)
    return false;
  *out = (rlim_t)d;
  return true;
}

Napi::Value GetNofile(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args a(info, "getNofile");
  double *out;
  size_t len;
  a.F64(0, &out, &len);
  if (!a.ok)
    return env.Undefined();
  if (len < 2)
    return Ret(env, -EINVAL);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
    return Err(env);
  out[0] = FromRlim(rl.rlim_cur);
  out[1] = FromRlim(rl.rlim_max);
  return Ret(env, 0);
}

Napi::Value SetNofile(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args a(info, "setNofile");
  double soft = a.Num(0), hard = a.Num(1);
  if (!a.ok)
    return env.Undefined();
  struct rlimit rl;
  if (!ToRlim(soft, &rl.rlim_cur) || !ToRlim(hard, &rl.rlim_max))
    return Ret(env, -EINVAL);
  if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
    return Err(env);
  return Ret(env, 0);
}

/* The most fds one message may carry (HAProxy: MAX_SEND_FD, include/types/connection.h). */
const int kMaxSendFd = 253;

/*
 * sendFds(<fd>, <buf>, <off>, <len>, <fds>, <nfds>): one sendmsg() of buf[off, off+len) carrying
 * the first <nfds> descriptors of <fds> as SCM_RIGHTS (none when <nfds> is 0). The socket's own
 * blocking mode applies (the caller chose it); EINTR is retried.
 */
Napi::Value SendFds(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args a(info, "sendFds");
  int fd = a.Fd(0);
  uint8_t *buf;
  size_t size;
  a.Bytes(1, &buf, &size);
  double off = a.Num(2), len = a.Num(3);
  int32_t *fds;
  size_t nfdsMax;
  a.I32(4, &fds, &nfdsMax);
  double dn = a.Num(5);
  if (!a.ok)
    return env.Undefined();
  int nfds;
  if (!RangeOk(off, len, size) || !ToInt(dn, &nfds) || nfds < 0 || nfds > kMaxSendFd ||
      (size_t)nfds > nfdsMax)
    return Ret(env, -EINVAL);
  struct iovec iov;
  iov.iov_base = buf + (size_t)off;
  iov.iov_len = (size_t)len;
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  /* Aligned storage for the largest control message. */
  union {
    struct cmsghdr align;
    char space[CMSG_SPACE(sizeof(int) * kMaxSendFd)];
  } ctl;
  if (nfds > 0) {
    memset(&ctl, 0, sizeof(ctl));
    msg.msg_control = ctl.space;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
  }
  ssize_t r;
  do
    r = sendmsg(fd, &msg, MSG_NOSIGNAL);
  while (r == -1 && errno == EINTR);
  if (r == -1)
    return Err(env);
  return Ret(env, (double)r);
}

/*
 * recvFds(<fd>, <buf>, <off>, <len>, <fds>, <waitall>): one recvmsg() into buf[off, off+len).
 * Descriptors that came with it (SCM_RIGHTS, close-on-exec) go to fds[1..], their count to
 * fds[0]; those that do not fit in <fds> are closed at once and not counted, so the caller
 * sees fewer than were sent. <waitall> non-zero sets MSG_WAITALL. The socket's blocking mode
 * and SO_RCVTIMEO apply; EINTR is retried.
 */
Napi::Value RecvFds(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args a(info, "recvFds");
  int fd = a.Fd(0);
  uint8_t *buf;
  size_t size;
  a.Bytes(1, &buf, &size);
  double off = a.Num(2), len = a.Num(3);
  int32_t *fds;
  size_t fdsLen;
  a.I32(4, &fds, &fdsLen);
  double waitall = a.Num(5);
  if (!a.ok)
    return env.Undefined();
  if (!RangeOk(off, len, size) || fdsLen < 1)
    return Ret(env, -EINVAL);
  struct iovec iov;
  iov.iov_base = buf + (size_t)off;
  iov.iov_len = (size_t)len;
  struct msghdr msg;
  union {
    struct cmsghdr align;
    char space[CMSG_SPACE(sizeof(int) * kMaxSendFd)];
  } ctl;
  int flags = waitall != 0 ? MSG_WAITALL : 0;
#ifdef MSG_CMSG_CLOEXEC
  flags |= MSG_CMSG_CLOEXEC;
#endif
  ssize_t r;
  do {
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.space;
    msg.msg_controllen = sizeof(ctl.space);
    r = recvmsg(fd, &msg, flags);
  } while (r == -1 && errno == EINTR);
  if (r == -1)
    return Err(env);
  size_t got = 0;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
      continue;
    size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int rfd;
      memcpy(&rfd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
#ifndef MSG_CMSG_CLOEXEC
      fcntl(rfd, F_SETFD, FD_CLOEXEC);
#endif
      if (got + 1 < fdsLen)
        fds[1 + got++] = rfd;
      else
        close(rfd);
    }
  }
  fds[0] = (int32_t)got;
  return Ret(env, (double)r);
}

/* setBlocking(<fd>): clear O_NONBLOCK (the reverse of setNonblock). */
Napi::Value SetBlocking(const Napi::CallbackInfo &info) {
  Args a(info, "setBlocking");
  int fd = a.Fd(0);
  if (!a.ok)
    return info.Env().Undefined();
  int fl = fcntl(fd, F_GETFL);
  if (fl == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
    return Err(info.Env());
  return Ret(info.Env(), 0);
}

/* setRecvTimeout(<fd>, <ms>): SO_RCVTIMEO; 0 waits forever. */
Napi::Value SetRecvTimeout(const Napi::CallbackInfo &info) {
  Args a(info, "setRecvTimeout");
  int fd = a.Fd(0);
  double dms = a.Num(1);
  if (!a.ok)
    return info.Env().Undefined();
  int ms;
  if (!ToInt(dms, &ms) || ms < 0)
    return Ret(info.Env(), -EINVAL);
  struct timeval tv;
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1)
    return Err(info.Env());
  return Ret(info.Env(), 0);
}

Napi::Object Constants(Napi::Env env) {
  Napi::Object obj = Napi::Object::New(env);
  auto c = [&obj](const char *name, double v) { obj.Set(name, v); };
  /* FD_POLL_* event bits (poller.h): their one definition, which src/native.ts reads from here. */
  c("FD_POLL_IN", FD_POLL_IN);
  c("FD_POLL_PRI", FD_POLL_PRI);
  c("FD_POLL_OUT", FD_POLL_OUT);
  c("FD_POLL_ERR", FD_POLL_ERR);
  c("FD_POLL_HUP", FD_POLL_HUP);
  c("FD_POLL_RDHUP_SEEN", FD_POLL_RDHUP_SEEN);
  c("AF_INET", AF_INET);
  c("AF_INET6", AF_INET6);
  c("AF_UNIX", AF_UNIX);
  c("SOCK_STREAM", SOCK_STREAM);
  c("SOCK_DGRAM", SOCK_DGRAM);
#ifdef SOCK_NONBLOCK
  /* Linux: socket() can create the fd non-blocking, saving the fcntl() pair. */
  c("SOCK_NONBLOCK", SOCK_NONBLOCK);
#else
  c("SOCK_NONBLOCK", 0);
#endif
  c("SOL_SOCKET", SOL_SOCKET);
  c("SO_REUSEADDR", SO_REUSEADDR);
  c("IPPROTO_IP", IPPROTO_IP);
  /* Linux 4.2+: bind() before connect() reserves no port (source without a port). */
#ifdef IP_BIND_ADDRESS_NO_PORT
  c("IP_BIND_ADDRESS_NO_PORT", IP_BIND_ADDRESS_NO_PORT);
#else
  c("IP_BIND_ADDRESS_NO_PORT", -1);
#endif
#ifdef SO_REUSEPORT
  c("SO_REUSEPORT", SO_REUSEPORT);
#else
  c("SO_REUSEPORT", -1);
#endif
  c("SO_KEEPALIVE", SO_KEEPALIVE);
  c("SO_ERROR", SO_ERROR);
  c("SO_RCVBUF", SO_RCVBUF);
  c("SO_SNDBUF", SO_SNDBUF);
  c("IPPROTO_TCP", IPPROTO_TCP);
  c("IPPROTO_IPV6", IPPROTO_IPV6);
  c("TCP_NODELAY", TCP_NODELAY);
  /* Listener options HAProxy 1.8 sets on Linux (tcp_bind_listener()); -1 where absent. */
#ifdef TCP_QUICKACK
  c("TCP_QUICKACK", TCP_QUICKACK);
#else
  c("TCP_QUICKACK", -1);
#endif
#ifdef TCP_USER_TIMEOUT
  c("TCP_USER_TIMEOUT", TCP_USER_TIMEOUT);
#else
  c("TCP_USER_TIMEOUT", -1);
#endif
#ifdef TCP_DEFER_ACCEPT
  c("TCP_DEFER_ACCEPT", TCP_DEFER_ACCEPT);
#else
  c("TCP_DEFER_ACCEPT", -1);
#endif
#ifdef TCP_FASTOPEN
  c("TCP_FASTOPEN", TCP_FASTOPEN);
#else
  c("TCP_FASTOPEN", -1);
#endif
  c("IPV6_V6ONLY", IPV6_V6ONLY);
  c("SHUT_RD", SHUT_RD);
  c("SHUT_WR", SHUT_WR);
  c("SHUT_RDWR", SHUT_RDWR);
  c("SO_ACCEPTCONN", SO_ACCEPTCONN);
  c("MAX_SEND_FD", kMaxSendFd);
  c("FD_SETSIZE", FD_SETSIZE);
  c("SOCKADDR_MAX", (double)sizeof(struct sockaddr_storage));
#ifdef HAVE_SPLICE
  c("HAVE_SPLICE", 1);
#else
  c("HAVE_SPLICE", 0);
#endif
  /* kqueue is libkqueue (Linux test build): it does not see close(), see ev_kqueue.cc. */
#ifdef HAPOLL_LIBKQUEUE
  c("KQUEUE_IS_LIBKQUEUE", 1);
#else
  c("KQUEUE_IS_LIBKQUEUE", 0);
#endif
  return obj;
}

} // namespace

void InitSock(Napi::Env env, Napi::Object exports) {
  static const struct {
    const char *name;
    Fn fn;
  } fns[] = {
      {"socket", Socket},           {"setNonblock", SetNonblock},
      {"bind", Bind},               {"listen", Listen},
      {"accept", Accept},           {"connect", Connect},
      {"shutdown", Shutdown},       {"close", Close},
      {"getsockoptInt", GetsockoptInt}, {"setsockoptInt", SetsockoptInt},
      {"setLinger", SetLinger},     {"resetLinger", ResetLinger},
      {"recvTrunc", RecvTrunc},
      {"getsockname", Getsockname},
      {"getpeername", Getpeername}, {"sockaddrFrom", SockaddrFrom},
      {"sockaddrInfo", SockaddrInfo}, {"resolveHost", ResolveHost},
      {"socketpair", Socketpair},   {"pipe", Pipe},
      {"splice", Splice},           {"getNofile", GetNofile},
      {"setNofile", SetNofile},     {"write", Write},
      {"read", Read},               {"sendFds", SendFds},
      {"recvFds", RecvFds},         {"setBlocking", SetBlocking},
      {"setRecvTimeout", SetRecvTimeout},
  };
  for (const auto &f : fns)
    exports.Set(f.name, Napi::Function::New(env, f.fn, f.name));
  static const struct {
    const char *name;
    napi_callback fn;
  } raw[] = {{"recv", RawIo<IO_RECV>}, {"send", RawIo<IO_SEND>}};
  for (const auto &f : raw) {
    napi_value v;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v) == napi_ok)
      exports.Set(f.name, Napi::Value(env, v));
  }
  exports.Set("constants", Constants(env));
}
