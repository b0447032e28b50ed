/*
 * poll() backend. The polled state lives in two bitmaps; each call turns them
 * into a pollfd array that was sized once at init() for every possible fd.
 */
#include <errno.h>
#include <new>
#include <poll.h>
#include <stdlib.h>

#include "poller.h"

#ifndef POLLRDHUP
#define POLLRDHUP 0
#endif

namespace {

typedef unsigned long word_t;
const int WORD_BITS = (int)(sizeof(word_t) * 8);

class PollBackend : public Backend {
  int maxsock_ = 0;
  word_t *rd_ = nullptr;
  word_t *wr_ = nullptr;
  struct pollfd *pfds_ = nullptr; /* maxsock_ entries + one for the self-pipe */

  static void set_bit(word_t *map, int fd, bool on) {
    word_t bit = (word_t)1 << (fd % WORD_BITS);
    if (on)
      map[fd / WORD_BITS] |= bit;
    else
      map[fd / WORD_BITS] &= ~bit;
  }

public:
  ~PollBackend() override { term(); }

  const char *name() const override { return "poll"; }

  int init(int maxsock) override {
    if (pfds_ != nullptr)
      return 0;
    size_t nwords = ((size_t)maxsock + WORD_BITS - 1) / WORD_BITS;
    rd_ = (word_t *)calloc(nwords, sizeof(word_t));
    wr_ = (word_t *)calloc(nwords, sizeof(word_t));
    pfds_ = (struct pollfd *)calloc((size_t)maxsock + 1, sizeof(struct pollfd));
    if (rd_ == nullptr || wr_ == nullptr || pfds_ == nullptr) {
      term();
      return -ENOMEM;
    }
    maxsock_ = maxsock;
    return 0;
  }

  void term() override {
    free(rd_);
    free(wr_);
    free(pfds_);
    rd_ = wr_ = nullptr;
    pfds_ = nullptr;
  }

  int fork() override { return pfds_ == nullptr ? -EBADF : 0; }

  int poll(const int32_t *changes, int n, int maxfd, int timeout,
           int32_t *out, int outcap) override {
    if (pfds_ == nullptr)
      return -EBADF;
    int sfd = hapoll_sigpipe_fd();

    for (int i = 0; i < n; i++) {
      int fd = changes[3 * i];
      int newm = changes[3 * i + 2];
      if (fd < 0 || fd >= maxsock_ || fd == sfd)
        continue;
      set_bit(rd_, fd, newm & POLL_DIR_R);
      set_bit(wr_, fd, newm & POLL_DIR_W);
    }

    int nfds = 0;
    int nwords = (maxfd + WORD_BITS - 1) / WORD_BITS;
    for (int w = 0; w < nwords; w++) {
      word_t any = rd_[w] | wr_[w];
      while (any != 0) {
        int b = __builtin_ctzl(any);
        word_t bit = (word_t)1 << b;
        any &= any - 1;
        int fd = w * WORD_BITS + b;
        if (fd >= maxfd)
          break;
        if (fd == sfd)
          continue;
        short ev = 0;
        if (rd_[w] & bit)
          ev |= POLLIN | POLLRDHUP;
        if (wr_[w] & bit)
          ev |= POLLOUT;
        pfds_[nfds].fd = fd;
        pfds_[nfds].events = ev;
        pfds_[nfds].revents = 0;
        nfds++;
      }
    }
    int sig_slot = -1;
    if (sfd >= 0) {
      pfds_[nfds].fd = sfd;
      pfds_[nfds].events = POLLIN;
      pfds_[nfds].revents = 0;
      sig_slot = nfds++;
    }

    WaitTimer timer(timeout);
    int ret;
    for (;;) {
      ret = ::poll(pfds_, (nfds_t)nfds, timer.remaining());
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
    for (int i = 0; i < nfds && ret > 0; i++) {
      short e = pfds_[i].revents;
      if (e == 0)
        continue;
      ret--;
      if (i == sig_slot) {
        hapoll_sigpipe_drain();
        continue;
      }
      if (nout >= outcap)
        continue;
      int bits = 0;
      if (e & POLLIN)
        bits |= FD_POLL_IN;
      if (e & POLLPRI)
        bits |= FD_POLL_PRI;
      if (e & POLLOUT)
        bits |= FD_POLL_OUT;
      if (e & (POLLERR | POLLNVAL))
        bits |= FD_POLL_ERR;
      if (e & POLLHUP)
        bits |= FD_POLL_HUP;
      if (POLLRDHUP != 0 && (e & POLLRDHUP))
        bits |= FD_POLL_HUP | FD_POLL_RDHUP_SEEN;
      out[2 * nout] = pfds_[i].fd;
      out[2 * nout + 1] = bits;
      nout++;
    }
    return nout;
  }

  int clo(int fd) override {
    if (pfds_ == nullptr)
      return -EBADF;
    if (fd < 0 || fd >= maxsock_)
      return -EINVAL;
    set_bit(rd_, fd, false);
    set_bit(wr_, fd, false);
    return 0;
  }
};

} // namespace

int poll_test(int maxsock) { return 0; }

Backend *poll_create_backend() { return new (std::nothrow) PollBackend(); }
