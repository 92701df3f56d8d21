/*
 * chat_builtin.h — pagedvk's own Jinja chat templates for the common families, for
 * `--chat-template NAME` and the ChatML fallback of a model without a template.
 *
 * Each text is written for pagedvk (no vendor text copied) and renders what its family's
 * reference template renders for string content, bos_token / eos_token written where the family
 * writes them and the same trimming and role checks (raise_exception with the family's message).
 * Content given as a list of parts renders its "text" parts joined; null content renders nothing.
 *
 *   chatml   <|im_start|>ROLE\nTEXT<|im_end|>\n ...                    ChatML (Qwen and many others)
 *   llama3   BOS<|start_header_id|>ROLE<|end_header_id|>\n\nTEXT<|eot_id|>  Llama 3 Instruct
 *   llama2   BOS[INST] <<SYS>>\n...\n<</SYS>>\n\nTEXT [/INST] ANSWER EOS     Llama 2 chat
 *   mistral  BOS[INST] TEXT [/INST]ANSWEREOS (system joins the first turn)  Mistral Instruct v0.2
 *   zephyr   <|ROLE|>\nTEXTEOS\n ...                                    Zephyr, TinyLlama chat
 *   gemma    BOS<start_of_turn>user|model\nTEXT<end_of_turn>\n        Gemma / Gemma 2 (no system role)
 *   phi3     <|ROLE|>\nTEXT<|end|>\n ...                                Phi-3 / Phi-3.5 mini
 *
 * Invariant: the table is static and NULL-terminated; names are lower case and unique.
 */
#ifndef PV_CHAT_BUILTIN_H
#define PV_CHAT_BUILTIN_H

/* The template text of built-in `name`; NULL when there is none of that name. */
const char *pv_chat_builtin(const char *name);
/* The names, NULL-terminated, in the order above. */
const char *const *pv_chat_builtin_names(void);

#endif /* PV_CHAT_BUILTIN_H */
