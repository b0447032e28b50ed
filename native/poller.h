/*
 * Internal interface between the NativePoller wrapper (addon.cc) and the
 * backends (ev_epoll.cc, ev_kqueue.cc, ev_poll.cc, ev_select.cc), plus the
 * few helpers they share. Nothing here touches N-API.
 */
#ifndef HAPOLL_POLLER_H
#define HAPOLL_POLLER_H

#include <stdint.h>
#include <limits.h>
#include <time.h>

/* FD_POLL_* as HAProxy 1.8 defines them: their one definition (src/native.ts reads them from the addon). */
#define FD_POLL_IN    0x01
#define FD_POLL_PRI   0x02
#define FD_POLL_OUT   0x04
#define FD_POLL_ERR   0x08
#define FD_POLL_HUP   0x10
#define FD_POLL_RDHUP_SEEN 0x20

/* Polled-direction masks used in the change triples. */
#define POLL_DIR_R 1
#define POLL_DIR_W 2

/* Largest maxsock a NativePoller accepts (addon.cc enforces it). */
#define HAPOLL_MAXSOCK_LIMIT (1 << 24)

/*
 * One backend instance. All methods return 0 / a count on success and
 * -errno on failure; none of them throws or aborts.
 */
class Backend {
public:
  virtual ~Backend() {}
  virtual const char *name() const = 0;
  /* Allocate everything poll() needs for fds in [0, <maxsock>). */
  virtual int init(int maxsock) = 0;
  /* Release what init() made; safe to call twice or before init(). */
  virtual void term() = 0;
  /* Re-create the kernel object in a forked child; registrations are lost. */
  virtual int fork() = 0;
  /*
   * Apply <n> change triples from <changes> (already bounds-checked by the
   * caller), wait up to <timeout> ms (-1 forever), and write at most <outcap>
   * (fd, FD_POLL_*) pairs into <out>. <maxfd> is already clamped to
   * [0, maxsock]. Must not allocate.
   */
  virtual int poll(const int32_t *changes, int n, int maxfd, int timeout,
                   int32_t *out, int outcap) = 0;
  /* <fd> is about to be closed: forget it. */
  virtual int clo(int fd) = 0;
};

/* Registry entry: HAProxy's _do_test and a factory. */
struct BackendInfo {
  const char *name;
  int (*test)(int maxsock);
  Backend *(*create)();
};

#ifdef HAVE_EPOLL
int epoll_test(int maxsock);
Backend *epoll_create_backend();
#endif
#ifdef HAVE_KQUEUE
int kqueue_test(int maxsock);
Backend *kqueue_create_backend();
#endif
int poll_test(int maxsock);
Backend *poll_create_backend();
int select_test(int maxsock);
Backend *select_create_backend();

/*
 * Signal self-pipe owned by signal.cc. Every backend watches its read end so
 * that a caught signal ends the wait; the pipe is created by signalInit() or
 * by the first signalMode(sig, 2), so backends must look it up on each call.
 */
extern "C" {
/* Read end of the self-pipe, or -1 if it does not exist yet. */
int hapoll_sigpipe_fd(void);
/* Empty the self-pipe; async-signal-safe and allocation-free. */
void hapoll_sigpipe_drain(void);
/* Non-zero when a caught signal is queued and not yet taken by JS. */
int hapoll_signal_pending(void);
}

/*
 * Remaining-time bookkeeping for the waits, so that an EINTR retry does not
 * restart the full timeout.
 */
struct WaitTimer {
  int timeout;            /* ms, -1 = forever */
  struct timespec start;

  explicit WaitTimer(int ms) : timeout(ms) {
    if (timeout > 0)
      clock_gettime(CLOCK_MONOTONIC, &start);
  }

  /* Milliseconds left, rounded up so we never wake a hair early; -1 forever. */
  int remaining() const {
    if (timeout <= 0)
      return timeout < 0 ? -1 : 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t spent_ns = (int64_t)(now.tv_sec - start.tv_sec) * 1000000000LL +
                       (now.tv_nsec - start.tv_nsec);
    int64_t left_ns = (int64_t)timeout * 1000000LL - spent_ns;
    if (left_ns <= 0)
      return 0;
    int64_t ms = (left_ns + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
  }
};

#endif /* HAPOLL_POLLER_H */
