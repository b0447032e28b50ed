/*
 * kqueue backend (macOS, FreeBSD, OpenBSD). Polled-mask changes become filter
 * additions/deletions submitted in the same kevent() call as the wait.
 * kqueue reports read and write as separate events, so one fd may appear
 * twice in the output; the TypeScript side ORs the bits.
 *
 * Built on Linux against libkqueue (HAPOLL_LIBKQUEUE, npm run test:kqueue),
 * kqueue's API over epoll, this file differs from a real kqueue in two ways
 * (docs/platforms.md): libkqueue does not see close(), so a closed fd's
 * filters outlive it and an EV_ADD for a new socket that got its number
 * updates the stale entry and is never reported (the TypeScript poller then
 * calls clo() before every close, see KQUEUE_IS_LIBKQUEUE); and it reads
 * SO_ERROR to fill EV_EOF's fflags, which clears the socket's pending error.
 */
#ifdef HAVE_KQUEUE

#include <errno.h>
#include <fcntl.h>
#include <new>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#include <unistd.h>

#include "poller.h"

namespace {

/* Bound on the event array (events left over stay pending, level-triggered). */
const int KQ_EVENTS_MAX = 16384;
/* Changes queued before they must be submitted on their own. */
const int KQ_CHANGES_MAX = 256;

class KqueueBackend : public Backend {
  int kq_ = -1;
  int maxsock_ = 0;
  int sigfd_watched_ = -1;
  struct kevent *events_ = nullptr; /* evcap_ >= KQ_CHANGES_MAX entries */
  int evcap_ = 0;
  struct kevent chg_[KQ_CHANGES_MAX];
  int nchg_ = 0;

  /*
   * Submit queued changes without waiting. kevent() stops at the first failing
   * change unless the result list has room for it, so give one slot per change
   * (EV_RECEIPT also keeps it from draining real events into those slots).
   */
  void flush_changes() {
    if (nchg_ == 0)
      return;
#ifdef EV_RECEIPT
    for (int i = 0; i < nchg_; i++)
      chg_[i].flags |= EV_RECEIPT;
#endif
    struct timespec zero = {0, 0};
    kevent(kq_, chg_, nchg_, events_, nchg_, &zero);
    nchg_ = 0;
  }

  void queue(int fd, short filter, unsigned short flags) {
    if (nchg_ == KQ_CHANGES_MAX)
      flush_changes();
    EV_SET(&chg_[nchg_], fd, filter, flags, 0, 0, 0);
    nchg_++;
  }

  /* The self-pipe may be created after init(), so register it lazily. */
  int watch_sigpipe() {
    int sfd = hapoll_sigpipe_fd();
    if (sfd >= 0 && sfd != sigfd_watched_) {
      queue(sfd, EVFILT_READ, EV_ADD);
      sigfd_watched_ = sfd;
    }
    return sfd;
  }

public:
  ~KqueueBackend() override { term(); }

  const char *name() const override { return "kqueue"; }

  int init(int maxsock) override {
    if (kq_ != -1)
      return 0;
    long want = 2L * maxsock + 1;
    evcap_ = want > KQ_EVENTS_MAX ? KQ_EVENTS_MAX : (int)want;
    if (evcap_ < KQ_CHANGES_MAX)
      evcap_ = KQ_CHANGES_MAX;
    events_ = (struct kevent *)calloc(evcap_, sizeof(struct kevent));
    if (events_ == nullptr)
      return -ENOMEM;
    kq_ = kqueue();
    if (kq_ == -1) {
      int err = errno;
      free(events_);
      events_ = nullptr;
      return -err;
    }
    fcntl(kq_, F_SETFD, FD_CLOEXEC);
    maxsock_ = maxsock;
    sigfd_watched_ = -1;
    nchg_ = 0;
    return 0;
  }

  void term() override {
    if (kq_ != -1)
      close(kq_);
    kq_ = -1;
    free(events_);
    events_ = nullptr;
    sigfd_watched_ = -1;
    nchg_ = 0;
  }

  int fork() override {
    if (kq_ == -1)
      return -EBADF;
    /* A child does not inherit kqueues; this only releases the fd number,
     * which nothing has reused if fork() is called right after fork(2). */
    close(kq_);
    sigfd_watched_ = -1;
    nchg_ = 0;
    kq_ = kqueue();
    if (kq_ == -1)
      return -errno;
    fcntl(kq_, F_SETFD, FD_CLOEXEC);
    return 0;
  }

  int poll(const int32_t *changes, int n, int maxfd, int timeout,
           int32_t *out, int outcap) override {
    if (kq_ == -1)
      return -EBADF;
    nchg_ = 0;
    int sfd = watch_sigpipe();


    for (int i = 0; i < n; i++) {
      int fd = changes[3 * i];
      int oldm = changes[3 * i + 1] & (POLL_DIR_R | POLL_DIR_W);
      int newm = changes[3 * i + 2] & (POLL_DIR_R | POLL_DIR_W);
      if (fd < 0 || fd >= maxsock_ || fd == sfd)
        continue;
      if (oldm == newm)
        continue;
      /* Every wanted filter is (re)added, not only the new ones: closing the
       * fd without clo() silently dropped its filters, and EV_ADD on a live
       * filter is a harmless update. */
      if (newm & POLL_DIR_R)
        queue(fd, EVFILT_READ, EV_ADD);
      else if (oldm & POLL_DIR_R)
        queue(fd, EVFILT_READ, EV_DELETE);
      if (newm & POLL_DIR_W)
        queue(fd, EVFILT_WRITE, EV_ADD);
      else if (oldm & POLL_DIR_W)
        queue(fd, EVFILT_WRITE, EV_DELETE);
    }

    /* Up to two events per fd, plus the self-pipe. */
    long want = 2L * maxfd < outcap ? 2L * maxfd : outcap;
    if (sigfd_watched_ >= 0)
      want++;
    int nev = want < 1 ? 1 : (want > evcap_ ? evcap_ : (int)want);
    /* A failing change needs a result slot or it aborts the whole call. */
    if (nchg_ > nev)
      flush_changes();

    WaitTimer timer(timeout);
    int ret;
    for (;;) {
      struct timespec ts, *tsp = nullptr;
      int ms = timer.remaining();
      if (ms >= 0) {
        ts.tv_sec = ms / 1000;
        ts.tv_nsec = (long)(ms % 1000) * 1000000L;
        tsp = &ts;
      }
      ret = kevent(kq_, chg_, nchg_, events_, nev, tsp);
      if (ret != -1) {
        nchg_ = 0;
        break;
      }
      if (errno != EINTR)
        return -errno;
      /* The change list is applied before the wait can be interrupted. */
      nchg_ = 0;
      if (hapoll_signal_pending()) {
        /* Interrupted by the signal itself (HAProxy's EINTR): its self-pipe byte is stale now, so
         * the next wait must not report it again. */
        hapoll_sigpipe_drain();
        return 0;
      }
    }

    int nout = 0;
    for (int i = 0; i < ret; i++) {
      const struct kevent *kev = &events_[i];
      /* Failed changes (e.g. deleting a filter the kernel already dropped
       * when the fd was closed) come back as EV_ERROR entries. */
      if (kev->flags & EV_ERROR)
        continue;
      int fd = (int)kev->ident;
      if (fd == sfd && kev->filter == EVFILT_READ) {
        hapoll_sigpipe_drain();
        continue;
      }
      int bits = 0;
      if (kev->filter == EVFILT_READ) {
        if (kev->data > 0)
          bits |= FD_POLL_IN;
        if (kev->flags & EV_EOF)
          bits |= FD_POLL_HUP | FD_POLL_RDHUP_SEEN;
      } else if (kev->filter == EVFILT_WRITE) {
        bits |= FD_POLL_OUT;
        if (kev->flags & EV_EOF)
          bits |= FD_POLL_ERR;
      }
      if (bits == 0 || nout >= outcap)
        continue;
      out[2 * nout] = fd;
      out[2 * nout + 1] = bits;
      nout++;
    }
    return nout;
  }

  int clo(int fd) override {
    if (kq_ == -1)
      return -EBADF;
    if (fd < 0 || fd >= maxsock_)
      return -EINVAL;
    if (fd == sigfd_watched_)
      return 0;
    /* Either filter may be absent; the receipts absorb the ENOENTs. */
    nchg_ = 0;
    queue(fd, EVFILT_READ, EV_DELETE);
    queue(fd, EVFILT_WRITE, EV_DELETE);
    flush_changes();
    return 0;
  }
};

} // namespace

int kqueue_test(int maxsock) {
  int fd = kqueue();
  if (fd == -1)
    return -errno;
  close(fd);
  return 0;
}

Backend *kqueue_create_backend() { return new (std::nothrow) KqueueBackend(); }

#endif /* HAVE_KQUEUE */
