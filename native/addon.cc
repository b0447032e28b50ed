/*
 * Module registration and the NativePoller class, a thin JS wrapper around
 * one Backend instance (see poller.h).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "addon.h"
#include "poller.h"

namespace {

/* Registration order is the preference order (HAProxy's poller priority). */
const BackendInfo kBackends[] = {
#ifdef HAVE_EPOLL
    {"epoll", epoll_test, epoll_create_backend},
#endif
#ifdef HAVE_KQUEUE
    {"kqueue", kqueue_test, kqueue_create_backend},
#endif
    {"poll", poll_test, poll_create_backend},
    {"select", select_test, select_create_backend},
};
const size_t kNumBackends = sizeof(kBackends) / sizeof(kBackends[0]);

const BackendInfo *FindBackend(const std::string &name) {
  for (size_t i = 0; i < kNumBackends; i++)
    if (name == kBackends[i].name)
      return &kBackends[i];
  return nullptr;
}

Napi::Value Errno(Napi::Env env, int r) { return Napi::Number::New(env, r); }

class NativePoller : public Napi::ObjectWrap<NativePoller> {
public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativePoller",
                       {
                           InstanceMethod<&NativePoller::Init>("init"),
                           InstanceMethod<&NativePoller::Term>("term"),
                           InstanceMethod<&NativePoller::Fork>("fork"),
                           InstanceMethod<&NativePoller::Poll>("poll"),
                           InstanceMethod<&NativePoller::Clo>("clo"),
                       });
  }

  NativePoller(const Napi::CallbackInfo &info)
      : Napi::ObjectWrap<NativePoller>(info) {
    Args a(info, "NativePoller");
    std::string name = a.Str(0);
    double maxsock = a.Num(1);
    if (!a.ok)
      return;
    const BackendInfo *bi = FindBackend(name);
    if (bi == nullptr) {
      Napi::TypeError::New(info.Env(), "NativePoller: unknown poller \"" + name + "\"")
          .ThrowAsJavaScriptException();
      return;
    }
    if (!ToInt(maxsock, &maxsock_) || maxsock_ < 1 || maxsock_ > HAPOLL_MAXSOCK_LIMIT) {
      Napi::TypeError::New(info.Env(),
                           "NativePoller: maxsock must be an integer in [1, 16777216]")
          .ThrowAsJavaScriptException();
      return;
    }
    /* A data property, not an accessor: an accessor called with a foreign
     * <this> fails unwrapping with a plain Error instead of a TypeError. */
    info.This().As<Napi::Object>().DefineProperty(Napi::PropertyDescriptor::Value(
        "name", Napi::String::New(info.Env(), bi->name), napi_enumerable));
    /* Out of memory here is reported by init() as -ENOMEM. */
    backend_ = bi->create();
  }

  ~NativePoller() override {
    if (backend_ != nullptr) {
      backend_->term();
      delete backend_;
    }
  }

private:
  Napi::Value Init(const Napi::CallbackInfo &info) {
    if (backend_ == nullptr)
      return Errno(info.Env(), -ENOMEM);
    return Errno(info.Env(), backend_->init(maxsock_));
  }

  Napi::Value Term(const Napi::CallbackInfo &info) {
    if (backend_ != nullptr)
      backend_->term();
    return info.Env().Undefined();
  }

  Napi::Value Fork(const Napi::CallbackInfo &info) {
    if (backend_ == nullptr)
      return Errno(info.Env(), -EBADF);
    return Errno(info.Env(), backend_->fork());
  }

  Napi::Value Poll(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Args a(info, "NativePoller.poll");
    int32_t *changes, *out;
    size_t clen, olen;
    a.I32OrAb(0, &changes, &clen);
    double dn = a.Num(1);
    double dmaxfd = a.Num(2);
    double dtimeout = a.Num(3);
    a.I32OrAb(4, &out, &olen);
    if (!a.ok)
      return env.Undefined();

    int n;
    if (!ToInt(dn, &n) || n < 0 || (double)n * 3 > (double)clen)
      return Errno(env, -EINVAL);
    if (dtimeout != dtimeout)
      return Errno(env, -EINVAL);
    int timeout;
    if (dtimeout < 0)
      timeout = -1;
    else if (dtimeout >= (double)INT_MAX)
      timeout = INT_MAX;
    else
      timeout = (int)ceil(dtimeout); /* never wake before a fractional ms */
    int maxfd = 0;
    if (dmaxfd >= (double)maxsock_)
      maxfd = maxsock_;
    else if (dmaxfd > 0)
      maxfd = (int)dmaxfd;
    size_t pairs = olen / 2;
    int outcap = pairs > (size_t)INT_MAX ? INT_MAX : (int)pairs;
    /* Optional 6th argument: a Float64Array (or its ArrayBuffer) of at least 2 that receives the clock just before and
     * just after the wait, which spares the loop two clock reads of its own. */
    double *times = nullptr;
    if (info.Length() > 5 && !info[5].IsUndefined()) {
      size_t tlen;
      a.F64OrAb(5, &times, &tlen);
      if (!a.ok)
        return env.Undefined();
      if (tlen < 2)
        return Errno(env, -EINVAL);
    }

    if (backend_ == nullptr)
      return Errno(env, -EBADF);
    if (times == nullptr)
      return Errno(env, backend_->poll(changes, n, maxfd, timeout, out, outcap));
    times[0] = HrtimeMs();
    int r = backend_->poll(changes, n, maxfd, timeout, out, outcap);
    times[1] = HrtimeMs();
    return Errno(env, r);
  }

  /* libuv's uv_hrtime() clock (process.hrtime(), hence performance.now()) in ms: a vDSO read on
   * Linux, no syscall. */
  static double HrtimeMs() {
    struct timespec ts;
#if defined(__APPLE__)
    clock_gettime(CLOCK_UPTIME_RAW, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
  }

  Napi::Value Clo(const Napi::CallbackInfo &info) {
    Args a(info, "NativePoller.clo");
    int fd = a.Fd(0);
    if (!a.ok)
      return info.Env().Undefined();
    if (backend_ == nullptr)
      return Errno(info.Env(), -EBADF);
    return Errno(info.Env(), backend_->clo(fd));
  }

  Backend *backend_ = nullptr;
  int maxsock_ = 0;
};

Napi::Value PollerNames(const Napi::CallbackInfo &info) {
  Napi::Array arr = Napi::Array::New(info.Env(), kNumBackends);
  for (size_t i = 0; i < kNumBackends; i++)
    arr.Set((uint32_t)i, Napi::String::New(info.Env(), kBackends[i].name));
  return arr;
}

Napi::Value PollerTest(const Napi::CallbackInfo &info) {
  Args a(info, "pollerTest");
  std::string name = a.Str(0);
  double dmax = a.Num(1);
  if (!a.ok)
    return info.Env().Undefined();
  const BackendInfo *bi = FindBackend(name);
  if (bi == nullptr)
    return Errno(info.Env(), -ENOENT);
  int maxsock;
  if (!ToInt(dmax, &maxsock) || maxsock < 1 || maxsock > HAPOLL_MAXSOCK_LIMIT)
    return Errno(info.Env(), -EINVAL);
  return Errno(info.Env(), bi->test(maxsock));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  AddonData *data = new AddonData();
  data->env = env;
  env.SetInstanceData<AddonData>(data);

  Napi::Function ctor = NativePoller::Define(env);
  data->pollerCtor = Napi::Persistent(ctor);
  exports.Set("NativePoller", ctor);
  exports.Set("pollerNames", Napi::Function::New(env, PollerNames, "pollerNames"));
  exports.Set("pollerTest", Napi::Function::New(env, PollerTest, "pollerTest"));
  InitSock(env, exports);
  InitSignal(env, exports);
  return exports;
}

} // namespace

AddonData::~AddonData() {
  /* Runs before the members release the counts array it may point into. */
  SignalEnvTeardown(env);
}

NODE_API_MODULE(hapoll, Init)
