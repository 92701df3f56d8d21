/*
 * base.h — what every room of the runtime shares: error reporting, logging, half-float
 * conversion and overflow-checked size arithmetic. Nothing here knows about Vulkan or models.
 */
#ifndef PV_BASE_H
#define PV_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pagedvk.h"

/* An error: a status code and one line of text saying what went wrong and where. */
typedef struct pv_error {
  int code;
  char msg[512];
} pv_error;

/* Records an error (when `err` is non-NULL) and returns `code`, so callers write
 * `return pv_fail(err, PAGEDVK_ERR_FORMAT, "tensor %s: ...", name);` */
int pv_fail(pv_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* First error wins, the one idiom for it. Calls in a chain: `if (!rc) rc = step(..., err);`.
 * A call that must run even after a failure (ending a command buffer, cleanup) gets its own
 * pv_error and is merged with pv_error_keep: it returns `rc` when that is already an error
 * (err keeps its message), else `rc2` with err2's message copied into err. */
int pv_error_keep(pv_error *err, int rc, const pv_error *err2, int rc2);
/* Copies an error's text into a caller's buffer (public API helper). */
void pv_error_copy(const pv_error *err, char *buf, size_t size);

/* Logging to stderr. Level from PAGEDVK_LOG=error|warn|info|debug (default warn). */
typedef enum { PV_LOG_ERROR = 0, PV_LOG_WARN = 1, PV_LOG_INFO = 2, PV_LOG_DEBUG = 3 } pv_log_level;
void pv_log(pv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool pv_log_enabled(pv_log_level level);

/* IEEE half and bfloat16 conversions (round to nearest even). */
float pv_f16_to_f32(uint16_t h);
uint16_t pv_f32_to_f16(float f);
float pv_bf16_to_f32(uint16_t h);
uint16_t pv_f32_to_bf16(float f);

/* Overflow-checked arithmetic: return false on overflow, leaving *out unspecified. */
static inline bool pv_add_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_add_overflow(a, b, out); }
static inline bool pv_mul_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_mul_overflow(a, b, out); }

static inline uint64_t pv_align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }
static inline uint32_t pv_div_up(uint32_t a, uint32_t b) { return (a + b - 1) / b; }

/* Text of n bytes from a file or a client, made safe to print into buf (cap bytes, always
 * terminated): \n \r \t \\ and \xNN for other control bytes, DEL and bytes that are not UTF-8,
 * \u00NN for the C1 controls; valid UTF-8 is kept. Ends in "..." when buf is too short. Returns buf. */
const char *pv_escape(const char *s, size_t n, char *buf, size_t cap);

/* Allocation that reports failure through pv_error rather than crashing. */
void *pv_calloc(size_t n, size_t size);

/* Monotonic clock in seconds. */
double pv_now(void);

#define PV_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Hot loops that the sanitizers would slow down several times over (the CPU reference's matvec:
 * ~40% of the sanitizer build's engine tests) are compiled without per-access instrumentation
 * (PV_HOT_LOOP) and instead check their whole operand ranges once on entry with
 * pv_check_region: under AddressSanitizer an access to memory that is not addressable anywhere in
 * [p, p + bytes) is reported with ASan's description of the address and aborts; elsewhere it does
 * nothing. */
#if defined(__SANITIZE_ADDRESS__)
#define PV_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PV_ASAN 1
#endif
#endif
#ifdef PV_ASAN
#define PV_HOT_LOOP __attribute__((no_sanitize("address", "undefined")))
void pv_check_region_asan(const void *p, size_t bytes, const char *what);
#define pv_check_region(p, bytes, what) pv_check_region_asan((p), (bytes), (what))
#else
#define PV_HOT_LOOP
#define pv_check_region(p, bytes, what) ((void)(p), (void)(bytes), (void)(what))
#endif

#endif /* PV_BASE_H */
