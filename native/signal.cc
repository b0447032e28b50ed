/*
 * Process-wide signal capture (HAProxy's src/signal.c model): the handler only
 * counts and pokes a self-pipe; JavaScript reads the counts between waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <mutex>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "addon.h"
#include "poller.h"

namespace {

/* counts[0] = signals queued, counts[sig] = arrivals of <sig>. */
const int NCOUNTS = 65;

/* Counts land here until signalInit() hands JS an Int32Array to share. */
int32_t g_fallback[NCOUNTS];
/* Where the handler counts: g_fallback or the owner env's Int32Array. */
int32_t *g_counts = g_fallback;
/* Environment whose Int32Array g_counts points into, if any. */
napi_env g_owner = nullptr;
int g_pipe_rd = -1;
int g_pipe_wr = -1;
/* Serialises setup between the main thread and workers; never the handler. */
std::mutex g_setup_lock;

void on_signal(int sig) {
  int saved_errno = errno;
  int32_t *counts = __atomic_load_n(&g_counts, __ATOMIC_ACQUIRE);
  if (sig > 0 && sig < NCOUNTS) {
    __atomic_fetch_add(&counts[sig], 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&counts[0], 1, __ATOMIC_SEQ_CST);
  }
  int wfd = __atomic_load_n(&g_pipe_wr, __ATOMIC_ACQUIRE);
  if (wfd >= 0) {
    char b = 0;
    /* A full pipe (EAGAIN) already guarantees a wake-up. */
    if (write(wfd, &b, 1) == -1) {
    }
  }
  errno = saved_errno;
}

#ifndef __linux__
int set_fd_flags(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
    return -errno;
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
    return -errno;
  return 0;
}
#endif

/* Create the self-pipe once; a failure is retried by the next caller. */
int ensure_pipe() {
  std::lock_guard<std::mutex> lock(g_setup_lock);
  if (g_pipe_rd >= 0)
    return 0;
  int p[2];
#ifdef __linux__
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
    return -errno;
#else
  if (pipe(p) == -1)
    return -errno;
  int r = set_fd_flags(p[0]);
  if (r == 0)
    r = set_fd_flags(p[1]);
  if (r != 0) {
    close(p[0]);
    close(p[1]);
    return r;
  }
#endif
  __atomic_store_n(&g_pipe_wr, p[1], __ATOMIC_RELEASE);
  __atomic_store_n(&g_pipe_rd, p[0], __ATOMIC_RELEASE);
  return 0;
}

Napi::Value SignalInit(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  AddonData *data = env.GetInstanceData<AddonData>();
  if (!data->signalCounts.IsEmpty())
    return data->signalCounts.Value();
  ensure_pipe();

  Napi::Int32Array arr = Napi::Int32Array::New(env, NCOUNTS);
  {
    std::lock_guard<std::mutex> lock(g_setup_lock);
    /* Only one environment can back the handler's counters; a worker that
     * comes second gets a private array but signalTake() still works. */
    if (g_owner == nullptr) {
      int32_t *p = arr.Data();
      g_owner = env;
      __atomic_store_n(&g_counts, p, __ATOMIC_RELEASE);
      /* Carry over what arrived before JS could see the counters. */
      for (int i = 0; i < NCOUNTS; i++) {
        int32_t v = __atomic_exchange_n(&g_fallback[i], 0, __ATOMIC_SEQ_CST);
        if (v != 0)
          __atomic_fetch_add(&p[i], v, __ATOMIC_SEQ_CST);
      }
    }
  }
  data->signalCounts = Napi::Persistent(Napi::Object(arr));
  return arr;
}

Napi::Value SignalMode(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args a(info, "signalMode");
  double dsig = a.Num(0);
  double dmode = a.Num(1);
  if (!a.ok)
    return env.Undefined();
  int sig, mode;
  if (!ToInt(dsig, &sig) || sig < 1 || sig >= NCOUNTS || sig >= NSIG ||
      !ToInt(dmode, &mode) || mode < 0 || mode > 2)
    return Napi::Number::New(env, -EINVAL);

  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sigemptyset(&sa.sa_mask);
  if (mode == 0) {
    sa.sa_handler = SIG_DFL;
  } else if (mode == 1) {
    sa.sa_handler = SIG_IGN;
  } else {
    int r = ensure_pipe();
    if (r != 0)
      return Napi::Number::New(env, r);
    sa.sa_handler = on_signal;
    /* No SA_RESTART: the waits must see EINTR to notice the signal. */
    sa.sa_flags = 0;
  }
  if (sigaction(sig, &sa, nullptr) == -1)
    return Napi::Number::New(env, -errno);
  return Napi::Number::New(env, 0);
}

Napi::Value SignalTake(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Args a(info, "signalTake");
  int32_t *out;
  size_t len;
  a.I32(0, &out, &len);
  if (!a.ok)
    return env.Undefined();
  if (len < (size_t)NCOUNTS)
    return Napi::Number::New(env, -EINVAL);

  int32_t *counts = __atomic_load_n(&g_counts, __ATOMIC_ACQUIRE);
  /* The queue length first: the handler bumps it after the per-signal count,
   * so a signal racing with us is at worst counted twice in counts[0], never
   * left in counts[sig] with counts[0] already zero. */
  out[0] = __atomic_exchange_n(&counts[0], 0, __ATOMIC_SEQ_CST);
  int pending = 0;
  for (int sig = 1; sig < NCOUNTS; sig++) {
    int32_t v = __atomic_exchange_n(&counts[sig], 0, __ATOMIC_SEQ_CST);
    out[sig] = v;
    if (v != 0)
      pending++;
  }
  return Napi::Number::New(env, pending);
}

} // namespace

void SignalEnvTeardown(napi_env env) {
  std::lock_guard<std::mutex> lock(g_setup_lock);
  if (g_owner != nullptr && g_owner == env) {
    __atomic_store_n(&g_counts, &g_fallback[0], __ATOMIC_RELEASE);
    g_owner = nullptr;
  }
}

void InitSignal(Napi::Env env, Napi::Object exports) {
  exports.Set("signalInit", Napi::Function::New(env, SignalInit, "signalInit"));
  exports.Set("signalMode", Napi::Function::New(env, SignalMode, "signalMode"));
  exports.Set("signalTake", Napi::Function::New(env, SignalTake, "signalTake"));
}

extern "C" int hapoll_sigpipe_fd(void) {
  return __atomic_load_n(&g_pipe_rd, __ATOMIC_ACQUIRE);
}

extern "C" void hapoll_sigpipe_drain(void) {
  int fd = hapoll_sigpipe_fd();
  if (fd < 0)
    return;
  char buf[64];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof(buf));
    if (r > 0)
      continue;
    if (r == -1 && errno == EINTR)
      continue;
    break; /* EAGAIN: empty */
  }
}

extern "C" int hapoll_signal_pending(void) {
  int32_t *counts = __atomic_load_n(&g_counts, __ATOMIC_ACQUIRE);
  return __atomic_load_n(&counts[0], __ATOMIC_SEQ_CST) > 0;
}
