/*
 * env.h — every environment variable the runtime reads, declared once in one table (name, what it
 * does) and read once into one struct. Nothing else in the library calls getenv: code reads
 * pv_env_get()->field. Engine and context options override these values where both exist (the
 * environment only sets the defaults: pagedvk_engine_options_default, pv_vk_options_from_env).
 *
 * The table (pv_env_vars) is also what pagedvk_env_print writes and what the README's list of
 * variables is checked against (tests/base/test_env.c).
 *
 * Reading: on the first pv_env_get() of the process; pv_env_reload() reads again, for programs
 * and tests that change their environment before creating a context or an engine. Not safe
 * against a concurrent pv_env_get (call it while no engine runs).
 */
#ifndef PV_ENV_H
#define PV_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PV_ENV_STR 256
#define PV_ENV_MAX_VARS 32

typedef struct pv_env {
  /* device choice and capability clamps (runtime/vk) */
  char device[PV_ENV_STR];          /* PAGEDVK_DEVICE: index or name substring; "" = default */
  bool profile_embedded;            /* PAGEDVK_PROFILE=embedded */
  uint64_t heap_mib;                /* PAGEDVK_HEAP_MIB: device-local heaps at most this (0: as reported) */
  bool no_fp16, no_storage16, no_subgroup, no_unified; /* PAGEDVK_NO_* */
  bool validation;                  /* PAGEDVK_VALIDATION */
  bool no_pipeline_cache;           /* PAGEDVK_NO_PIPELINE_CACHE */
  uint64_t max_binding;             /* PAGEDVK_MAX_BINDING: bytes (K/M/G suffixes: KiB...), 0 = none */
  double gpu_timeout_s;             /* PAGEDVK_GPU_TIMEOUT_S (> 0; default 120) */
  uint64_t fault_submit;            /* PAGEDVK_FAULT_SUBMIT: submit number that fails (0: none) */
  char cache_home[PV_ENV_STR * 4];  /* XDG_CACHE_HOME (absolute paths only) */
  char home[PV_ENV_STR * 4];        /* HOME */
  /* kernel shapes (runtime/ops): "" = the device's default */
  char attn[16], matmul[16], weights[16]; /* PAGEDVK_ATTN, PAGEDVK_MATMUL, PAGEDVK_WEIGHTS */
  /* engine defaults (options override) */
  bool no_warmup;                   /* PAGEDVK_NO_WARMUP */
  bool kernel_times;                /* PAGEDVK_KERNEL_TIMES */
  bool no_swa_free;                 /* PAGEDVK_NO_SWA_FREE: one KV layer group even with sliding windows */
  uint32_t kv_group_layers;         /* PAGEDVK_KV_GROUP_LAYERS: at most this many layers a block (0: any) */
  /* logging (runtime/base) */
  int log_level;                    /* PAGEDVK_LOG: pv_log_level, default PV_LOG_WARN */
  /* read, not set: lavapipe's compute threads (the CLI sets a default when this is empty) */
  char lp_num_threads[32];          /* LP_NUM_THREADS */
  /* every variable of pv_env_vars as read (same order); set[i]: present in the environment */
  char raw[PV_ENV_MAX_VARS][PV_ENV_STR * 4];
  bool set[PV_ENV_MAX_VARS];
} pv_env;

typedef struct pv_env_var {
  const char *name;
  const char *values; /* what it takes, e.g. "1", "tiles|lanes|groups" */
  const char *doc;    /* one line */
} pv_env_var;

extern const pv_env_var pv_env_vars[];
extern const size_t pv_env_var_count;

const pv_env *pv_env_get(void);
void pv_env_reload(void);
/* The value read for `name` (one of pv_env_vars), NULL when unset or not in the table. */
const char *pv_env_raw(const char *name);

#endif /* PV_ENV_H */
