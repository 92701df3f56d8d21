/*
 * env.c — the table of environment variables and the one place that reads them (env.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/env.h"

const pv_env_var pv_env_vars[] = {
    {"PAGEDVK_DEVICE", "index|name", "the Vulkan device: an index of `pagedvk info`, or a substring of its name"},
    {"PAGEDVK_PROFILE", "embedded", "clamp the device to a conservative embedded-GPU profile (docs/PORTABILITY.md)"},
    {"PAGEDVK_HEAP_MIB", "N", "testing: device-local memory heaps report at most N MiB, as on a smaller device"},
    {"PAGEDVK_NO_FP16", "1", "no fp16 arithmetic in shaders, as if the device lacked it"},
    {"PAGEDVK_NO_STORAGE16", "1", "no 16-/8-bit storage access, as if the device lacked it"},
    {"PAGEDVK_NO_SUBGROUP", "1", "no subgroup operations, as if the device lacked them"},
    {"PAGEDVK_NO_UNIFIED", "1", "treat unified memory as discrete (staging uploads)"},
    {"PAGEDVK_MAX_BINDING", "bytes[K|M|G]", "lower the bytes one buffer binding may cover (maxStorageBufferRange): large weights split"},
    {"PAGEDVK_VALIDATION", "1", "turn on the Khronos validation layer"},
    {"PAGEDVK_NO_PIPELINE_CACHE", "1", "neither read nor write the pipeline cache on disk"},
    {"PAGEDVK_GPU_TIMEOUT_S", "seconds", "how long a submit may run before it counts as a lost device (default 120)"},
    {"PAGEDVK_FAULT_SUBMIT", "N", "testing: the N-th queue submit fails as a lost device"},
    {"PAGEDVK_ATTN", "tiles|lanes|groups", "attention kernel shape (default: tiles on CPU devices, groups on GPUs)"},
    {"PAGEDVK_MATMUL", "rows|coop", "matmul shape (default: rows on CPU devices, coop on GPUs)"},
    {"PAGEDVK_WEIGHTS", "texel|storage", "how matmuls read weights (default: texel on CPU devices)"},
    {"PAGEDVK_NO_WARMUP", "1", "default of the engine option warmup: compile pipelines on first use"},
    {"PAGEDVK_NO_SWA_FREE", "1", "default of the engine option sliding_window_free: 0, keep every KV block of sliding-window layers"},
    {"PAGEDVK_KV_GROUP_LAYERS", "N", "testing: at most N layers share a KV block (more block tables per sequence)"},
    {"PAGEDVK_KERNEL_TIMES", "1", "default of the engine option kernel_times; prints stage times when an engine closes"},
    {"PAGEDVK_LOG", "error|warn|info|debug", "log level on stderr (default warn)"},
    {"PAGEDVK_API_KEY", "key", "`pagedvk serve`'s API key when neither --api-key nor --api-key-file is given (set but empty: an error)"},
    {"XDG_CACHE_HOME", "path", "where the pipeline cache lives ($XDG_CACHE_HOME/pagedvk, else ~/.cache/pagedvk)"},
    {"HOME", "path", "fallback for the pipeline cache directory"},
    {"LP_NUM_THREADS", "N", "lavapipe's compute threads; the pagedvk command sets 2 x CPUs when unset"},
};
const size_t pv_env_var_count = PV_ARRAY_LEN(pv_env_vars);

static pv_env g_env;
static atomic_bool g_loaded;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

_Static_assert(PV_ARRAY_LEN(pv_env_vars) <= PV_ENV_MAX_VARS, "raise PV_ENV_MAX_VARS");

/* The raw value of a table entry as read into e (NULL when unset). */
static const char *raw(const pv_env *e, const char *name) {
  for (size_t i = 0; i < pv_env_var_count; i++)
    if (!strcmp(pv_env_vars[i].name, name)) return e->set[i] ? e->raw[i] : NULL;
  return NULL;
}

/* Copies a value, cut to size - 1 bytes (none of the table's values is near that long). */
static void copy_str(const pv_env *e, char *dst, size_t size, const char *name) {
  const char *v = raw(e, name);
  size_t n = v ? strnlen(v, size - 1) : 0;
  memcpy(dst, v ? v : "", n);
  dst[n] = 0;
}

/* Set and neither empty nor "0". */
static bool flag(const pv_env *e, const char *name) {
  const char *v = raw(e, name);
  return v && v[0] && strcmp(v, "0") != 0;
}

/* Bytes with an optional K, M or G suffix (KiB, MiB, GiB); 0 when unset or malformed. */
static uint64_t byte_count(const char *s) {
  if (!s || !*s) return 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  const int shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20 : *end == 'G' || *end == 'g' ? 30 : 0;
  if (shift) end++;
  return *end || v > (UINT64_MAX >> shift) ? 0 : (uint64_t)v << shift;
}

static int log_level(const char *s) {
  if (!s) return PV_LOG_WARN;
  if (!strcmp(s, "error")) return PV_LOG_ERROR;
  if (!strcmp(s, "info")) return PV_LOG_INFO;
  if (!strcmp(s, "debug")) return PV_LOG_DEBUG;
  return PV_LOG_WARN;
}

/* The only getenv of the library: each table entry once, then the typed fields from those copies. */
static void read_env(pv_env *e) {
  memset(e, 0, sizeof *e);
  for (size_t i = 0; i < pv_env_var_count; i++) {
    const char *v = getenv(pv_env_vars[i].name);
    e->set[i] = v != NULL;
    snprintf(e->raw[i], sizeof e->raw[i], "%s", v ? v : "");
  }
  copy_str(e, e->device, sizeof e->device, "PAGEDVK_DEVICE");
  const char *profile = raw(e, "PAGEDVK_PROFILE");
  e->profile_embedded = profile && !strcasecmp(profile, "embedded");
  const char *heap = raw(e, "PAGEDVK_HEAP_MIB");
  e->heap_mib = heap && *heap ? strtoull(heap, NULL, 10) : 0;
  e->no_fp16 = flag(e, "PAGEDVK_NO_FP16");
  e->no_storage16 = flag(e, "PAGEDVK_NO_STORAGE16");
  e->no_subgroup = flag(e, "PAGEDVK_NO_SUBGROUP");
  e->no_unified = flag(e, "PAGEDVK_NO_UNIFIED");
  e->validation = flag(e, "PAGEDVK_VALIDATION");
  e->no_pipeline_cache = flag(e, "PAGEDVK_NO_PIPELINE_CACHE");
  e->max_binding = byte_count(raw(e, "PAGEDVK_MAX_BINDING"));
  const char *t = raw(e, "PAGEDVK_GPU_TIMEOUT_S");
  e->gpu_timeout_s = t ? atof(t) : 0;
  if (!(e->gpu_timeout_s > 0)) e->gpu_timeout_s = 120.0;
  const char *f = raw(e, "PAGEDVK_FAULT_SUBMIT");
  e->fault_submit = f && *f ? strtoull(f, NULL, 10) : 0;
  const char *xdg = raw(e, "XDG_CACHE_HOME");
  if (xdg && xdg[0] == '/') copy_str(e, e->cache_home, sizeof e->cache_home, "XDG_CACHE_HOME");
  copy_str(e, e->home, sizeof e->home, "HOME");
  copy_str(e, e->attn, sizeof e->attn, "PAGEDVK_ATTN");
  copy_str(e, e->matmul, sizeof e->matmul, "PAGEDVK_MATMUL");
  copy_str(e, e->weights, sizeof e->weights, "PAGEDVK_WEIGHTS");
  e->no_warmup = flag(e, "PAGEDVK_NO_WARMUP");
  e->kernel_times = flag(e, "PAGEDVK_KERNEL_TIMES");
  e->no_swa_free = flag(e, "PAGEDVK_NO_SWA_FREE");
  const char *gl = raw(e, "PAGEDVK_KV_GROUP_LAYERS");
  e->kv_group_layers = gl && *gl ? (uint32_t)strtoul(gl, NULL, 10) : 0;
  e->log_level = log_level(raw(e, "PAGEDVK_LOG"));
  copy_str(e, e->lp_num_threads, sizeof e->lp_num_threads, "LP_NUM_THREADS");
}

const pv_env *pv_env_get(void) {
  if (atomic_load_explicit(&g_loaded, memory_order_acquire)) return &g_env;
  pthread_mutex_lock(&g_lock);
  if (!atomic_load_explicit(&g_loaded, memory_order_relaxed)) {
    read_env(&g_env);
    atomic_store_explicit(&g_loaded, true, memory_order_release);
  }
  pthread_mutex_unlock(&g_lock);
  return &g_env;
}

void pv_env_reload(void) {
  pthread_mutex_lock(&g_lock);
  read_env(&g_env);
  atomic_store_explicit(&g_loaded, true, memory_order_release);
  pthread_mutex_unlock(&g_lock);
}

const char *pv_env_raw(const char *name) { return raw(pv_env_get(), name); }

const char *pagedvk_env_get(const char *name) { return pv_env_raw(name); }

void pagedvk_env_reload(void) { pv_env_reload(); }

void pagedvk_env_print(FILE *out) {
  const pv_env *e = pv_env_get();
  for (size_t i = 0; i < pv_env_var_count; i++)
    fprintf(out, "  %-26s %-22s %s%s%s\n", pv_env_vars[i].name, e->set[i] ? e->raw[i] : "(unset)",
            pv_env_vars[i].doc, pv_env_vars[i].values[0] ? "; takes " : "", pv_env_vars[i].values);
}
