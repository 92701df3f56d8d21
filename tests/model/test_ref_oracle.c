/* The CPU reference forward pass against the oracle: greedy continuations of an independent
 * implementation (llama.cpp) on the shared test models (the base set, ../shared/oracle/p11 and the
 * p13 models the project runs) must match for compare_n tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "model/ref.h"
#include "oracle.h"

static void check_model(const char *name) {
  pv_oracle o;
  if (!pv_oracle_load(name, &o)) skip();
  pv_error err = {0};
  pv_gguf_file *f = NULL;
  assert_int_equal(pv_gguf_open(&f, o.model_path, &err), PAGEDVK_OK);
  pv_ref *r = NULL;
  int rc = pv_ref_create(&r, f, 512, &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, PAGEDVK_OK);
  for (uint32_t c = 0; c < o.n_cases; c++) {
    const pv_oracle_case *k = &o.cases[c];
    int32_t out[256];
    assert_int_equal(pv_ref_generate_greedy(r, k->prompt_ids, k->n_prompt, k->compare_n, out, &err), PAGEDVK_OK);
    for (uint32_t i = 0; i < k->compare_n; i++) {
      if (out[i] != k->greedy[i]) fprintf(stderr, "%s '%s': id %u: got %d want %d\n", name, k->prompt, i, out[i], k->greedy[i]);
      assert_int_equal(out[i], k->greedy[i]);
    }
  }
  pv_ref_destroy(r);
  pv_gguf_close(f);
}

static void test_llama2_tiny(void **state) { (void)state; check_model("llama-2-tiny-random"); }
static void test_syn_llama_q4k(void **state) { (void)state; check_model("syn-llama-q4k"); }
static void test_syn_qwen2_f16(void **state) { (void)state; check_model("syn-qwen2-f16"); }
/* the p11 set: llama.cpp-quantized IQ4_XS, IQ4_NL, Q3_K_M, Q2_K files, Llama-3 rope_freqs, head size from the file */
static void test_p11_iq4_xs(void **state) { (void)state; check_model("p11/syn-llama-iq4_xs"); }
static void test_p11_iq4_nl(void **state) { (void)state; check_model("p11/syn-llama-iq4_nl"); }
static void test_p11_q3_k_m(void **state) { (void)state; check_model("p11/syn-llama-q3_k_m"); }
static void test_p11_q2_k(void **state) { (void)state; check_model("p11/syn-llama-q2_k"); }
static void test_p11_ropefreqs(void **state) { (void)state; check_model("p11/syn-llama-ropefreqs"); }
static void test_p11_headdim(void **state) { (void)state; check_model("p11/syn-llama-headdim"); }
/* the p13 set, the architectures after llama and qwen2 (each model once the project runs it) */
static void test_p13_qwen3(void **state) { (void)state; check_model("p13/syn-qwen3"); }
static void test_p13_smollm3(void **state) { (void)state; check_model("p13/syn-smollm3"); }
static void test_p13_granite(void **state) { (void)state; check_model("p13/syn-granite"); }
static void test_p13_gemma2(void **state) { (void)state; check_model("p13/syn-gemma2"); }
static void test_p13_gemma3(void **state) { (void)state; check_model("p13/syn-gemma3"); }
static void test_p13_phi3(void **state) { (void)state; check_model("p13/syn-phi3"); }

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_llama2_tiny),
      cmocka_unit_test(test_syn_llama_q4k),
      cmocka_unit_test(test_syn_qwen2_f16),
      cmocka_unit_test(test_p11_iq4_xs),
      cmocka_unit_test(test_p11_iq4_nl),
      cmocka_unit_test(test_p11_q3_k_m),
      cmocka_unit_test(test_p11_q2_k),
      cmocka_unit_test(test_p11_ropefreqs),
      cmocka_unit_test(test_p11_headdim),
      cmocka_unit_test(test_p13_qwen3),
      cmocka_unit_test(test_p13_smollm3),
      cmocka_unit_test(test_p13_granite),
      cmocka_unit_test(test_p13_gemma2),
      cmocka_unit_test(test_p13_gemma3),
      cmocka_unit_test(test_p13_phi3),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
