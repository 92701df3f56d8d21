/* oracle.h — reads ../shared/oracle/NAME.json (greedy outputs of an independent implementation). */
#ifndef PV_TEST_ORACLE_H
#define PV_TEST_ORACLE_H
#include <stdbool.h>
#include <stdint.h>

typedef struct pv_oracle_case {
  char prompt[256];
  int32_t prompt_ids[256];
  uint32_t n_prompt;
  int32_t greedy[256];
  uint32_t n_greedy;
  uint32_t compare_n;
} pv_oracle_case;

typedef struct pv_oracle {
  char model_path[1024];
  pv_oracle_case cases[16];
  uint32_t n_cases;
} pv_oracle;

/* Loads ../shared/oracle/<name>.json; false when ../shared is absent (the caller skips). */
bool pv_oracle_load(const char *name, pv_oracle *o);

#endif
