/*
 * epoll backend (Linux). Registrations persist in the kernel, so poll() only
 * forwards the changed polled masks and then waits.
 */
#ifdef HAVE_EPOLL

#include <errno.h>
#include <new>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "poller.h"

namespace {

/* Bound on the event array so a huge maxsock does not cost megabytes; events
 * left over stay pending (level-triggered) and come back on the next call. */
const int EPOLL_EVENTS_MAX = 16384;

class EpollBackend : public Backend {
  int epfd_ = -1;
  int maxsock_ = 0;
  int sigfd_watched_ = -1; /* self-pipe fd already added to epfd_ */
  struct epoll_event *events_ = nullptr;
  int evcap_ = 0;

  /* The self-pipe may be created after init(), so register it lazily. */
  int watch_sigpipe() {
    int sfd = hapoll_sigpipe_fd();
    if (sfd >= 0 && sfd != sigfd_watched_) {
      struct epoll_event ev;
      memset(&ev, 0, sizeof(ev));
      ev.events = EPOLLIN;
      ev.data.fd = sfd;
      if (epoll_ctl(epfd_, EPOLL_CTL_ADD, sfd, &ev) == 0 || errno == EEXIST)
        sigfd_watched_ = sfd;
    }
    return sfd;
  }

  void apply_change(int fd, int oldm, int newm) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.data.fd = fd;
    if (newm == 0) {
      /* <fd> may already be closed, which removed it: nothing to undo. */
      epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev);
      return;
    }
    if (newm & POLL_DIR_R)
      ev.events |= EPOLLIN | EPOLLRDHUP;
    if (newm & POLL_DIR_W)
      ev.events |= EPOLLOUT;
    if (oldm == 0) {
      /* A reused fd number can still be registered if clo() was skipped. */
      if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == -1 && errno == EEXIST)
        epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
    } else {
      /* Closing <fd> silently unregistered it; a new one took its number. */
      if (epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == -1 && errno == ENOENT)
        epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    }
  }

public:
  ~EpollBackend() override { term(); }

  const char *name() const override { return "epoll"; }

  int init(int maxsock) override {
    if (epfd_ != -1)
      return 0;
    evcap_ = maxsock + 1 < EPOLL_EVENTS_MAX ? maxsock + 1 : EPOLL_EVENTS_MAX;
    events_ = (struct epoll_event *)calloc(evcap_, sizeof(*events_));
    if (events_ == nullptr)
      return -ENOMEM;
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ == -1) {
      int err = errno;
      free(events_);
      events_ = nullptr;
      return -err;
    }
    maxsock_ = maxsock;
    sigfd_watched_ = -1;
    return 0;
  }

  void term() override {
    if (epfd_ != -1)
      close(epfd_);
    epfd_ = -1;
    free(events_);
    events_ = nullptr;
    sigfd_watched_ = -1;
  }

  int fork() override {
    if (epfd_ == -1)
      return -EBADF;
    /* The inherited epfd_ is shared with the parent: never keep using it. */
    close(epfd_);
    sigfd_watched_ = -1;
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ == -1)
      return -errno;
    watch_sigpipe();
    return 0;
  }

  int poll(const int32_t *changes, int n, int maxfd, int timeout,
           int32_t *out, int outcap) override {
    if (epfd_ == -1)
      return -EBADF;
    int sfd = watch_sigpipe();

    for (int i = 0; i < n; i++) {
      int fd = changes[3 * i];
      int oldm = changes[3 * i + 1] & (POLL_DIR_R | POLL_DIR_W);
      int newm = changes[3 * i + 2] & (POLL_DIR_R | POLL_DIR_W);
      if (fd < 0 || fd >= maxsock_ || fd == sfd || oldm == newm)
        continue;
      apply_change(fd, oldm, newm);
    }

    int maxev = outcap < evcap_ ? outcap : evcap_;
    if (maxev < 1)
      maxev = 1;
    WaitTimer timer(timeout);
    int ret;
    for (;;) {
      ret = epoll_wait(epfd_, events_, maxev, timer.remaining());
      if (ret != -1)
        break;
      if (errno != EINTR)
        return -errno;
      if (hapoll_signal_pending()) {
        /* Interrupted by the signal itself (HAProxy's EINTR): its self-pipe byte is stale now, so
         * the next wait must not report it again. */
        hapoll_sigpipe_drain();
        return 0;
      }
    }

    int nout = 0;
    for (int i = 0; i < ret; i++) {
      int fd = events_[i].data.fd;
      uint32_t e = events_[i].events;
      if (fd == sfd) {
        hapoll_sigpipe_drain();
        continue;
      }
      if (nout >= outcap)
        continue;
      int bits = 0;
      if (e & EPOLLIN)
        bits |= FD_POLL_IN;
      if (e & EPOLLPRI)
        bits |= FD_POLL_PRI;
      if (e & EPOLLOUT)
        bits |= FD_POLL_OUT;
      if (e & EPOLLERR)
        bits |= FD_POLL_ERR;
      if (e & EPOLLHUP)
        bits |= FD_POLL_HUP;
      if (e & EPOLLRDHUP)
        bits |= FD_POLL_HUP | FD_POLL_RDHUP_SEEN;
      out[2 * nout] = fd;
      out[2 * nout + 1] = bits;
      nout++;
    }
    return nout;
  }

  int clo(int fd) override {
    if (epfd_ == -1)
      return -EBADF;
    if (fd < 0 || fd >= maxsock_)
      return -EINVAL;
    if (fd == sigfd_watched_)
      return 0;
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    /* <fd> may never have been registered: ENOENT is expected. */
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev);
    return 0;
  }
};

} // namespace

int epoll_test(int maxsock) {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd == -1)
    return -errno;
  close(fd);
  return 0;
}

Backend *epoll_create_backend() { return new (std::nothrow) EpollBackend(); }

#endif /* HAVE_EPOLL */
