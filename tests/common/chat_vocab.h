/* chat_vocab.h — a small vocabulary-only GGUF for the chat-template tests, written with the dev
 * kit's GGUF writer so those tests need no ../shared: a SentencePiece ("llama") vocabulary with
 * <unk> 0, <s> 1 (BOS), </s> 2 (EOS), optionally <|im_start|> 3 and <|im_end|> 4 as control tokens,
 * the 256 byte pieces (so any text tokenizes), ▁ and the printable ASCII characters. */
#ifndef PV_TEST_CHAT_VOCAB_H
#define PV_TEST_CHAT_VOCAB_H
#include <stdbool.h>

/* Writes the file to `path` with tokenizer.chat_template = chat_template (NULL: none); 0 or a
 * pagedvk status. chatml_type: 0 leaves the ChatML tokens out, otherwise their token type (3
 * control, 1 normal). */
int pv_test_write_chat_vocab(const char *path, int chatml_type, const char *chat_template);
/* The same with up to 3 more control tokens (ids from 3, or from 5 with the ChatML tokens), e.g.
 * a tool-call marker that the detokenizer leaves out of the text. */
int pv_test_write_chat_vocab_with(const char *path, int chatml_type, const char *chat_template,
                                  const char *const *control, int n_control);

#endif
