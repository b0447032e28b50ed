/*
 * Shared by the N-API side of the addon (addon.cc, sock.cc, signal.cc):
 * per-environment instance data and argument checking.
 */
#ifndef HAPOLL_ADDON_H
#define HAPOLL_ADDON_H

#include <napi.h>

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string>

/* Per-environment state (main thread or a worker), owned by N-API. */
struct AddonData {
  napi_env env = nullptr;
  Napi::FunctionReference pollerCtor;
  Napi::ObjectReference signalCounts; /* the Int32Array signalInit() returns */
  ~AddonData();
};

void InitSock(Napi::Env env, Napi::Object exports);
void InitSignal(Napi::Env env, Napi::Object exports);
/* The environment <env> is going away: stop the handler using its memory. */
void SignalEnvTeardown(napi_env env);

/* Exact int conversion: false for NaN, infinities, fractions, out of range. */
static inline bool ToInt(double d, int *out) {
  if (!(d >= (double)INT_MIN && d <= (double)INT_MAX) || d != floor(d))
    return false;
  *out = (int)d;
  return true;
}

/*
 * Typed access to a call's arguments. The first wrong type throws a TypeError
 * and clears <ok>; later accessors return dummies so the caller can check
 * <ok> once before doing any work.
 */
class Args {
public:
  Args(const Napi::CallbackInfo &info, const char *fn) : info_(info), fn_(fn) {}

  bool ok = true;

  Napi::Env Env() const { return info_.Env(); }

  /* One N-API call per argument on the hot path: napi_get_value_double itself rejects a
   * non-number (napi_number_expected), so no separate typeof is needed. */
  double Num(size_t i) {
    double d = 0;
    if (napi_get_value_double(info_.Env(), info_[i], &d) != napi_ok) {
      Fail(i, "a number");
      return 0;
    }
    return d;
  }

  /* Any fd that is not an exact int becomes -1, so the kernel says EBADF. */
  int Fd(size_t i) {
    int fd;
    return ToInt(Num(i), &fd) ? fd : -1;
  }

  std::string Str(size_t i) {
    Napi::Value v = info_[i];
    if (!v.IsString()) {
      Fail(i, "a string");
      return std::string();
    }
    return v.As<Napi::String>().Utf8Value();
  }

  /* A Buffer (or any Uint8Array / ArrayBufferView) as raw bytes. */
  bool Bytes(size_t i, uint8_t **data, size_t *len) {
    *data = nullptr;
    *len = 0;
    /* napi_get_buffer_info rejects anything that is not an ArrayBufferView by itself. */
    void *p = nullptr;
    if (napi_get_buffer_info(info_.Env(), info_[i], &p, len) != napi_ok) {
      Fail(i, "a Buffer");
      return false;
    }
    *data = (uint8_t *)p;
    return true;
  }

  template <typename T>
  bool Typed(size_t i, napi_typedarray_type type, const char *what, T **data,
             size_t *len) {
    *data = nullptr;
    *len = 0;
    /* One call gives the type, the length and the data pointer (with the view's offset applied);
     * it fails for anything that is not a typed array. */
    napi_typedarray_type t;
    size_t n = 0;
    void *p = nullptr;
    if (napi_get_typedarray_info(info_.Env(), info_[i], &t, &n, &p, nullptr, nullptr) != napi_ok ||
        t != type) {
      Fail(i, what);
      return false;
    }
    *data = (T *)p;
    *len = n;
    return true;
  }

  bool I32(size_t i, int32_t **data, size_t *len) {
    return Typed<int32_t>(i, napi_int32_array, "an Int32Array", data, len);
  }

  /*
   * An Int32Array, or the ArrayBuffer of one (<len> in int32 units, the bytes past the last whole
   * one ignored). The ArrayBuffer is the cheap form for the hot path: a view's data pointer costs V8
   * a GetBuffer() per call, an ArrayBuffer's is one load. A detached one has no data and length 0.
   */
  bool I32OrAb(size_t i, int32_t **data, size_t *len) {
    return AbOr<int32_t>(i, napi_int32_array, "an Int32Array or an ArrayBuffer", data, len);
  }

  /* A Float64Array or an ArrayBuffer, as I32OrAb(). */
  bool F64OrAb(size_t i, double **data, size_t *len) {
    return AbOr<double>(i, napi_float64_array, "a Float64Array or an ArrayBuffer", data, len);
  }

  bool F64(size_t i, double **data, size_t *len) {
    return Typed<double>(i, napi_float64_array, "a Float64Array", data, len);
  }

private:
  template <typename T>
  bool AbOr(size_t i, napi_typedarray_type type, const char *what, T **data, size_t *len) {
    bool isab = false;
    if (napi_is_arraybuffer(info_.Env(), info_[i], &isab) == napi_ok && isab) {
      void *p = nullptr;
      size_t bytes = 0;
      if (napi_get_arraybuffer_info(info_.Env(), info_[i], &p, &bytes) != napi_ok) {
        Fail(i, what);
        return false;
      }
      *data = (T *)p;
      *len = p == nullptr ? 0 : bytes / sizeof(T);
      return true;
    }
    return Typed<T>(i, type, what, data, len);
  }

  void Fail(size_t i, const char *what) {
    if (!ok)
      return;
    ok = false;
    std::string msg = std::string(fn_) + ": argument " + std::to_string(i + 1) +
                      " must be " + what;
    Napi::TypeError::New(info_.Env(), msg).ThrowAsJavaScriptException();
  }

  const Napi::CallbackInfo &info_;
  const char *fn_;
};

#endif /* HAPOLL_ADDON_H */
