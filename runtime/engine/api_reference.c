/* api_reference.c — the public door to the CPU reference forward pass (runtime/model/ref.c). */
#include <stdlib.h>

#include "engine/model_handle.h"
#include "model/ref.h"

int pagedvk_reference_greedy(const pagedvk_model *model, const int32_t *prompt, size_t n_prompt, uint32_t n_gen,
                             int32_t *out, char *errbuf, size_t err_size) {
  pv_error err = {0};
  pv_ref *r = NULL;
  uint64_t ctx = (uint64_t)n_prompt + n_gen;
  int rc = ctx > UINT32_MAX ? pv_fail(&err, PAGEDVK_ERR_TOO_LONG, "reference: too many tokens")
                            : pv_ref_create(&r, model->gguf, (uint32_t)ctx, &err);
  if (!rc) rc = pv_ref_generate_greedy(r, prompt, (uint32_t)n_prompt, n_gen, out, &err);
  pv_ref_destroy(r);
  if (rc) pv_error_copy(&err, errbuf, err_size);
  return rc;
}
