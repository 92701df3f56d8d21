/*
 * chat_template.c — recognition of chat template families and one formatter per family.
 * See chat_template.h for the families, their markers and the rendering rules.
 *
 * Invariant: a pv_chat_template owns its strings (bos, eos, default_system); the formatters only
 * read it, so one template may serve many threads.
 */
#include "text/chat_template.h"

#include <stdlib.h>
#include <string.h>

#include "base/grow.h"

/* ---- output buffer -------------------------------------------------------------------------- */

typedef struct out_buf {
  char *p;
  size_t n, cap;
  bool oom;
} out_buf;

static void put_n(out_buf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (pv_grow((void **)&b->p, &b->cap, b->n + n + 1, 1, 256)) {
    b->oom = true;
    return;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

static void put(out_buf *b, const char *s) { put_n(b, s, strlen(s)); }

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Jinja's trim / Python's strip (ASCII whitespace). */
static void put_trimmed(out_buf *b, const char *s) {
  size_t n = strlen(s), i = 0;
  while (i < n && is_space(s[i])) i++;
  while (n > i && is_space(s[n - 1])) n--;
  put_n(b, s + i, n - i);
}

static bool role_is(const pv_chat_msg *m, const char *role) { return m->role && !strcmp(m->role, role); }

/* ---- recognition ------------------------------------------------------------------------------ */

static bool has(const char *s, size_t len, const char *marker) { return memmem(s, len, marker, strlen(marker)) != NULL; }

static char *dup_n(const char *s, size_t n) {
  char *c = malloc(n + 1);
  if (c) {
    memcpy(c, s, n);
    c[n] = 0;
  }
  return c;
}

/* A chatml template that writes a fixed system turn when the chat has none holds the literal
 * "<|im_start|>system\n<text><|im_end|>"; the first such turn whose text is plain (no Jinja
 * expression or string quote in it) gives the default system message. The newline may be a real
 * one or the two characters \n of a Jinja string literal. */
static int find_default_system(const char *s, size_t len, char **out) {
  static const char mark[] = "<|im_start|>system";
  *out = NULL;
  for (const char *p = s, *end = s + len; (p = memmem(p, (size_t)(end - p), mark, sizeof mark - 1)) != NULL;) {
    p += sizeof mark - 1;
    if (p < end && *p == '\n') p++;
    else if (end - p >= 2 && p[0] == '\\' && p[1] == 'n') p += 2;
    else continue;
    const char *stop = memmem(p, (size_t)(end - p), "<|im_end|>", 10);
    if (!stop || stop == p) continue;
    size_t n = (size_t)(stop - p);
    if (memchr(p, '\'', n) || memchr(p, '"', n) || memmem(p, n, "{{", 2) || memmem(p, n, "{%", 2)) continue;
    *out = dup_n(p, n);
    return *out ? PAGEDVK_OK : PAGEDVK_ERR_NO_MEMORY;
  }
  return PAGEDVK_OK;
}

static bool recognise(const char *s, size_t len, pv_chat_family *family) {
  if (!s || !len) return false;
  if (has(s, len, "<|start_header_id|>")) *family = PV_CHAT_LLAMA3;
  else if (has(s, len, "<|im_start|>")) *family = PV_CHAT_CHATML;
  else if (has(s, len, "[INST]")) *family = has(s, len, "<<SYS>>") ? PV_CHAT_LLAMA2 : PV_CHAT_MISTRAL;
  else if (has(s, len, "<|user|>") && has(s, len, "<|assistant|>")) *family = PV_CHAT_ZEPHYR;
  else return false;
  return true;
}

int pv_chat_template_init(pv_chat_template *t, const char *jinja, size_t len, const char *bos, const char *eos,
                          pv_error *err) {
  memset(t, 0, sizeof *t);
  t->fallback = !recognise(jinja, len, &t->family);
  if (t->fallback) t->family = PV_CHAT_CHATML;
  t->bos = dup_n(bos ? bos : "", bos ? strlen(bos) : 0);
  t->eos = dup_n(eos ? eos : "", eos ? strlen(eos) : 0);
  int rc = (t->bos && t->eos) ? PAGEDVK_OK : PAGEDVK_ERR_NO_MEMORY;
  if (!rc && !t->fallback && t->family == PV_CHAT_CHATML) rc = find_default_system(jinja, len, &t->default_system);
  if (!rc && t->family == PV_CHAT_MISTRAL && !t->fallback)
    t->eos_space = has(jinja, len, "eos_token + ' '") || has(jinja, len, "eos_token+' '");
  if (rc) {
    pv_chat_template_free(t);
    return pv_fail(err, rc, "chat template: no memory");
  }
  return PAGEDVK_OK;
}

void pv_chat_template_free(pv_chat_template *t) {
  free(t->default_system);
  free(t->bos);
  free(t->eos);
  memset(t, 0, sizeof *t);
}

const char *pv_chat_family_name(pv_chat_family f) {
  switch (f) {
    case PV_CHAT_LLAMA2: return "llama2";
    case PV_CHAT_LLAMA3: return "llama3";
    case PV_CHAT_MISTRAL: return "mistral";
    case PV_CHAT_ZEPHYR: return "zephyr";
    default: return "chatml";
  }
}

/* ---- formatters --------------------------------------------------------------------------------- */

/* <|im_start|>role\ncontent<|im_end|>\n per message, the default system turn first when the chat
 * does not start with one. */
static int format_chatml(const pv_chat_template *t, const pv_chat_msg *m, size_t n, bool gen, out_buf *b,
                         pv_error *err) {
  if (n > 0 && t->default_system && !role_is(&m[0], "system")) {
    put(b, "<|im_start|>system\n");
    put(b, t->default_system);
    put(b, "<|im_end|>\n");
  }
  for (size_t i = 0; i < n; i++) {
    put(b, "<|im_start|>");
    put(b, m[i].role);
    put(b, "\n");
    put(b, m[i].content);
    put(b, "<|im_end|>\n");
  }
  if (gen) put(b, "<|im_start|>assistant\n");
  return PAGEDVK_OK;
}

/* BOS, then <|start_header_id|>role<|end_header_id|>\n\n trim(content)<|eot_id|> per message. */
static int format_llama3(const pv_chat_template *t, const pv_chat_msg *m, size_t n, bool gen, out_buf *b,
                         pv_error *err) {
  for (size_t i = 0; i < n; i++) {
    if (i == 0) put(b, t->bos);
    put(b, "<|start_header_id|>");
    put(b, m[i].role);
    put(b, "<|end_header_id|>\n\n");
    put_trimmed(b, m[i].content);
    put(b, "<|eot_id|>");
  }
  if (gen) put(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
  return PAGEDVK_OK;
}

/* Checks that, after an optional leading system message, roles go user, assistant, user, … */
static int check_alternation(const pv_chat_msg *m, size_t n, pv_chat_family f, pv_error *err) {
  size_t first = (n > 0 && role_is(&m[0], "system")) ? 1 : 0;
  for (size_t i = first; i < n; i++) {
    const char *want = ((i - first) % 2 == 0) ? "user" : "assistant";
    if (!role_is(&m[i], want))
      return pv_fail(err, PAGEDVK_ERR_INVALID, "chat (%s): message %zu has role '%s' where '%s' is expected "
                     "(a system message may come first, then user and assistant alternate)",
                     pv_chat_family_name(f), i, m[i].role, want);
  }
  return PAGEDVK_OK;
}

/* <s>[INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] assistant </s><s>[INST] user [/INST] —
 * contents stripped; the system block joins the first user turn before stripping. */
static int format_llama2(const pv_chat_template *t, const pv_chat_msg *m, size_t n, bool gen, out_buf *b,
                         pv_error *err) {
  int rc = check_alternation(m, n, PV_CHAT_LLAMA2, err);
  if (rc) return rc;
  size_t first = (n > 0 && role_is(&m[0], "system")) ? 1 : 0;
  for (size_t i = first; i < n; i++) {
    out_buf content = {0};
    if (i == first && first == 1) {
      put(&content, "<<SYS>>\n");
      put(&content, m[0].content);
      put(&content, "\n<</SYS>>\n\n");
    }
    put(&content, m[i].content);
    if (content.oom) {
      free(content.p);
      return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "chat: no memory");
    }
    if (role_is(&m[i], "user")) {
      put(b, t->bos);
      put(b, "[INST] ");
      put_trimmed(b, content.p ? content.p : "");
      put(b, " [/INST]");
    } else {
      put(b, " ");
      put_trimmed(b, content.p ? content.p : "");
      put(b, " ");
      put(b, t->eos);
    }
    free(content.p);
  }
  return PAGEDVK_OK;
}

/* <s>[INST] user [/INST]assistant</s>[INST] user [/INST] (v0.1: "</s> " after each answer). */
static int format_mistral(const pv_chat_template *t, const pv_chat_msg *m, size_t n, bool gen, out_buf *b,
                          pv_error *err) {
  int rc = check_alternation(m, n, PV_CHAT_MISTRAL, err);
  if (rc) return rc;
  size_t first = (n > 0 && role_is(&m[0], "system")) ? 1 : 0;
  put(b, t->bos);
  for (size_t i = first; i < n; i++) {
    if (role_is(&m[i], "user")) {
      put(b, "[INST] ");
      if (i == first && first == 1) {
        put(b, m[0].content);
        put(b, "\n\n");
      }
      put(b, m[i].content);
      put(b, " [/INST]");
    } else {
      put(b, m[i].content);
      put(b, t->eos);
      if (t->eos_space) put(b, " ");
    }
  }
  return PAGEDVK_OK;
}

/* <|role|>\ncontent</s>\n per system/user/assistant message (others are skipped, as the template
 * does), then <|assistant|>\n after the last message. */
static int format_zephyr(const pv_chat_template *t, const pv_chat_msg *m, size_t n, bool gen, out_buf *b,
                         pv_error *err) {
  for (size_t i = 0; i < n; i++) {
    if (role_is(&m[i], "user") || role_is(&m[i], "system") || role_is(&m[i], "assistant")) {
      put(b, "<|");
      put(b, m[i].role);
      put(b, "|>\n");
      put(b, m[i].content);
      put(b, t->eos);
      put(b, "\n");
    }
    if (i + 1 == n && gen) put(b, "<|assistant|>\n");
  }
  return PAGEDVK_OK;
}

int pv_chat_format(const pv_chat_template *t, const pv_chat_msg *msgs, size_t n, bool add_generation_prompt,
                   char **out, size_t *len, pv_error *err) {
  for (size_t i = 0; i < n; i++)
    if (!msgs[i].role || !msgs[i].content)
      return pv_fail(err, PAGEDVK_ERR_INVALID, "chat: message %zu has no %s", i, msgs[i].role ? "content" : "role");
  out_buf b = {0};
  put(&b, "");
  int rc;
  switch (t->family) {
    case PV_CHAT_LLAMA2: rc = format_llama2(t, msgs, n, add_generation_prompt, &b, err); break;
    case PV_CHAT_LLAMA3: rc = format_llama3(t, msgs, n, add_generation_prompt, &b, err); break;
    case PV_CHAT_MISTRAL: rc = format_mistral(t, msgs, n, add_generation_prompt, &b, err); break;
    case PV_CHAT_ZEPHYR: rc = format_zephyr(t, msgs, n, add_generation_prompt, &b, err); break;
    default: rc = format_chatml(t, msgs, n, add_generation_prompt, &b, err); break;
  }
  if (!rc && b.oom) rc = pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "chat: no memory");
  if (rc) {
    free(b.p);
    return rc;
  }
  *out = b.p;
  *len = b.n;
  return PAGEDVK_OK;
}
