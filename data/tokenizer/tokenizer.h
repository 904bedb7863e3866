// Text <-> token ids with GPT-2-style byte-level BPE, exact with respect to the reference
// implementations (OpenAI's GPT-2 encoder.py / tiktoken "gpt2", and HF tokenizers for
// tokenizer.json files). See docs/TOKENIZER.md for the algorithm and the evidence.
//
// Loading: GPT-2's own files (encoder.json + vocab.bpe) or an HF tokenizer.json whose model is
// byte-level BPE (e.g. GPT-NeoX-20B / Pythia). Loaders throw std::runtime_error whose message
// names the file and the problem.
//
// Encoding takes any bytes. Well-formed UTF-8 is split by GPT-2's pattern and merged exactly as
// the references do. Bytes that are not part of well-formed UTF-8 (which the references, taking
// Unicode strings, cannot be given) each become their own single-byte token, so
// decode(encode(x)) == x for every byte string x with GPT-2. NeoX-20B differs in two ways: it
// applies NFC as HF does (so only NFC text round-trips), and its vocabulary lacks the 13 bytes
// that never occur in UTF-8 (C0, C1, F5..FF), which are therefore encoded as U+FFFD.
//
// A Tokenizer is immutable after loading; copies share the tables, and all methods may be called
// from many threads at once.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace merino {

namespace tok {
class TokenizerImpl;
}

class Tokenizer {
 public:
  // GPT-2's encoder.json (token -> id) and vocab.bpe (merges in rank order). <|endoftext|> (50256)
  // becomes a special token.
  static Tokenizer load_gpt2(const std::string& encoder_json_path, const std::string& vocab_bpe_path);
  // An HF tokenizers JSON with a BPE model and a ByteLevel pre-tokenizer (add_prefix_space false);
  // normalizer none or NFC; its added_tokens are honoured (special ones only when allowed).
  // Or a LLaMA-2-style one: BPE with byte_fallback, Prepend/Replace "▁" normalizer, no
  // pre-tokenizer (docs/TOKENIZER.md); eot_token() is then </s> and decode() drops the one
  // leading space the normalizer prepends.
  static Tokenizer load_hf_json(const std::string& tokenizer_json_path);

  // allow_special: when true, special tokens written in the text (e.g. "<|endoftext|>") become
  // their ids; when false they are encoded as ordinary text (like tiktoken's encode_ordinary), so
  // untrusted text cannot inject them. Non-special added tokens are always recognised, as in HF.
  std::vector<int32_t> encode(std::string_view text, bool allow_special = false) const;

  // Encodes each document on `threads` threads (<= 0: one per hardware thread). The result is
  // identical to calling encode() on each document in order, whatever the thread count.
  std::vector<std::vector<int32_t>> encode_batch(const std::vector<std::string>& docs, int threads = 0,
                                                 bool allow_special = false) const;
  std::vector<std::vector<int32_t>> encode_batch(const std::vector<std::string_view>& docs, int threads = 0,
                                                 bool allow_special = false) const;

  // Concatenated bytes of the tokens (special tokens give their text). Throws std::out_of_range
  // for an id that is not in the vocabulary.
  std::string decode(const std::vector<int32_t>& ids) const;
  std::string decode(const int32_t* ids, size_t n) const;
  // Raw bytes of one token; throws std::out_of_range like decode().
  std::string_view token_bytes(int32_t id) const;

  // One past the largest id (50257 for GPT-2, 50277 for NeoX-20B).
  int vocab_size() const;
  // Id of "<|endoftext|>" (50256 for GPT-2, 0 for NeoX-20B), or -1 if the vocabulary has none.
  int32_t eot_token() const;

 private:
  explicit Tokenizer(std::shared_ptr<const tok::TokenizerImpl> impl);
  std::shared_ptr<const tok::TokenizerImpl> impl_;
};

}  // namespace merino
