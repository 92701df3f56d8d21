/* error.c — pv_error, status names and stderr logging. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/env.h"

int pv_fail(pv_error *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
  }
  return code;
}

int pv_error_keep(pv_error *err, int rc, const pv_error *err2, int rc2) {
  if (rc) return rc;
  if (rc2 && err && err2) *err = *err2;
  return rc2;
}

void pv_error_copy(const pv_error *err, char *buf, size_t size) {
  if (buf && size) snprintf(buf, size, "%s", err->msg);
}

const char *pagedvk_status_str(int status) {
  switch (status) {
    case PAGEDVK_OK: return "ok";
    case PAGEDVK_ERR_INVALID: return "invalid argument";
    case PAGEDVK_ERR_IO: return "i/o error";
    case PAGEDVK_ERR_FORMAT: return "format error";
    case PAGEDVK_ERR_UNSUPPORTED: return "unsupported";
    case PAGEDVK_ERR_NO_DEVICE: return "no Vulkan device";
    case PAGEDVK_ERR_VULKAN: return "Vulkan error";
    case PAGEDVK_ERR_NO_MEMORY: return "out of memory";
    case PAGEDVK_ERR_KV_FULL: return "KV cache full";
    case PAGEDVK_ERR_TOO_LONG: return "too long";
    case PAGEDVK_ERR_ABORTED: return "aborted";
    case PAGEDVK_ERR_DEVICE_LOST: return "device lost";
    case PAGEDVK_ERR_NONFINITE: return "the model produced non-finite logits (NaN/inf)";
    default: return "unknown status";
  }
}

static int log_level(void) { return pv_env_get()->log_level; }

bool pv_log_enabled(pv_log_level level) { return (int)level <= log_level(); }

void pv_log(pv_log_level level, const char *fmt, ...) {
  static const char *names[] = {"error", "warning", "info", "debug"};
  if (!pv_log_enabled(level)) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "pagedvk: %s: ", names[level]);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

void *pv_calloc(size_t n, size_t size) { return (n == 0 || size == 0) ? calloc(1, 1) : calloc(n, size); }

double pv_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double pagedvk_now_seconds(void) { return pv_now(); }

#ifdef PV_ASAN
#include <sanitizer/asan_interface.h>

void pv_check_region_asan(const void *p, size_t bytes, const char *what) {
  if (!bytes) return;
  void *bad = __asan_region_is_poisoned((void *)(uintptr_t)p, bytes);
  if (!bad) return;
  fprintf(stderr, "pagedvk: %s: bytes [%p, +%zu) reach unaddressable memory at %p (offset %zu)\n", what, p, bytes,
          bad, (size_t)((const char *)bad - (const char *)p));
  __asan_describe_address(bad);
  abort();
}
#endif
