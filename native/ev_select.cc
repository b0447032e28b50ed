/*
 * select() backend. Master fd_sets hold the polled state; select() clobbers
 * its arguments, so every wait works on copies.
 */
#include <errno.h>
#include <new>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>

#include "poller.h"

namespace {

class SelectBackend : public Backend {
  bool ready_ = false;
  int maxsock_ = 0;
  int nrd_ = 0, nwr_ = 0; /* bits set in the masters, to pass NULL sets */
  fd_set rd_, wr_;
  fd_set trd_, twr_;

  static void update(fd_set *set, int *count, int fd, bool on) {
    bool was = FD_ISSET(fd, set);
    if (on && !was) {
      FD_SET(fd, set);
      (*count)++;
    } else if (!on && was) {
      FD_CLR(fd, set);
      (*count)--;
    }
  }

public:
  SelectBackend() {
    FD_ZERO(&rd_);
    FD_ZERO(&wr_);
  }
  ~SelectBackend() override { term(); }

  const char *name() const override { return "select"; }

  int init(int maxsock) override {
    if (maxsock > FD_SETSIZE)
      return -EMFILE;
    if (ready_)
      return 0;
    FD_ZERO(&rd_);
    FD_ZERO(&wr_);
    nrd_ = nwr_ = 0;
    maxsock_ = maxsock;
    ready_ = true;
    return 0;
  }

  void term() override { ready_ = false; }

  int fork() override { return ready_ ? 0 : -EBADF; }

  int poll(const int32_t *changes, int n, int maxfd, int timeout,
           int32_t *out, int outcap) override {
    if (!ready_)
      return -EBADF;
    int sfd = hapoll_sigpipe_fd();
    /* An fd_set cannot describe a larger fd: such a pipe only goes unwatched. */
    bool watch_sig = sfd >= 0 && sfd < FD_SETSIZE;

    for (int i = 0; i < n; i++) {
      int fd = changes[3 * i];
      int newm = changes[3 * i + 2];
      if (fd < 0 || fd >= maxsock_ || fd >= FD_SETSIZE || fd == sfd)
        continue;
      update(&rd_, &nrd_, fd, newm & POLL_DIR_R);
      update(&wr_, &nwr_, fd, newm & POLL_DIR_W);
    }

    int nfds = maxfd;
    if (watch_sig && sfd + 1 > nfds)
      nfds = sfd + 1;
    bool use_rd = nrd_ > 0 || watch_sig;
    bool use_wr = nwr_ > 0;

    WaitTimer timer(timeout);
    int ret;
    for (;;) {
      memcpy(&trd_, &rd_, sizeof(fd_set));
      memcpy(&twr_, &wr_, sizeof(fd_set));
      if (watch_sig)
        FD_SET(sfd, &trd_);
      struct timeval tv, *tvp = nullptr;
      int ms = timer.remaining();
      if (ms >= 0) {
        tv.tv_sec = ms / 1000;
        tv.tv_usec = (ms % 1000) * 1000;
        tvp = &tv;
      }
      ret = select(nfds, use_rd ? &trd_ : nullptr, use_wr ? &twr_ : nullptr,
                   nullptr, tvp);
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
    for (int fd = 0; fd < nfds && ret > 0; fd++) {
      bool r = use_rd && FD_ISSET(fd, &trd_);
      bool w = use_wr && FD_ISSET(fd, &twr_);
      if (!r && !w)
        continue;
      ret -= (int)r + (int)w;
      if (watch_sig && fd == sfd) {
        hapoll_sigpipe_drain();
        continue;
      }
      if (nout >= outcap)
        continue;
      out[2 * nout] = fd;
      out[2 * nout + 1] = (r ? FD_POLL_IN : 0) | (w ? FD_POLL_OUT : 0);
      nout++;
    }
    return nout;
  }

  int clo(int fd) override {
    if (!ready_)
      return -EBADF;
    if (fd < 0 || fd >= maxsock_ || fd >= FD_SETSIZE)
      return -EINVAL;
    update(&rd_, &nrd_, fd, false);
    update(&wr_, &nwr_, fd, false);
    return 0;
  }
};

} // namespace

int select_test(int maxsock) { return maxsock > FD_SETSIZE ? -EMFILE : 0; }

Backend *select_create_backend() { return new (std::nothrow) SelectBackend(); }
