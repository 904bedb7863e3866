// merino::Tokenizer: the public face over TokenizerImpl, plus the thread pool for batches.
#include "data/tokenizer/tokenizer.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <stdexcept>
#include <thread>

#include "data/tokenizer/tokenizer_impl.h"

namespace merino {

Tokenizer::Tokenizer(std::shared_ptr<const tok::TokenizerImpl> impl) : impl_(std::move(impl)) {}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool allow_special) const {
  tok::TokenizerImpl::Context ctx(*impl_);
  std::vector<int32_t> out;
  out.reserve(text.size() / 4 + 16);  // about 4 bytes per token for English
  impl_->encode(text, allow_special, ctx, out);
  return out;
}

std::vector<std::vector<int32_t>> Tokenizer::encode_batch(const std::vector<std::string>& docs, int threads,
                                                          bool allow_special) const {
  return encode_batch(std::vector<std::string_view>(docs.begin(), docs.end()), threads, allow_special);
}

std::vector<std::vector<int32_t>> Tokenizer::encode_batch(const std::vector<std::string_view>& docs, int threads,
                                                          bool allow_special) const {
  std::vector<std::vector<int32_t>> result(docs.size());
  size_t n_threads = threads > 0 ? static_cast<size_t>(threads) : std::max(1u, std::thread::hardware_concurrency());
  n_threads = std::max<size_t>(1, std::min(n_threads, docs.size()));

  // Documents are handed out one at a time from a shared counter (sizes vary a lot), and each
  // result goes to its own slot, so the output does not depend on which thread took what. Each
  // thread keeps its own word cache across its documents.
  std::atomic<size_t> next{0};
  std::vector<std::exception_ptr> errors(n_threads);
  auto work = [&](size_t t) {
    try {
      tok::TokenizerImpl::Context ctx(*impl_);
      for (size_t i; (i = next.fetch_add(1)) < docs.size();) {
        result[i].reserve(docs[i].size() / 4 + 16);
        impl_->encode(docs[i], allow_special, ctx, result[i]);
      }
    } catch (...) {
      errors[t] = std::current_exception();
      next.store(docs.size());  // stop the others early
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < n_threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (std::thread& th : pool) th.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return result;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const { return decode(ids.data(), ids.size()); }

std::string Tokenizer::decode(const int32_t* ids, size_t n) const {
  std::string out;
  out.reserve(n * 4);
  for (size_t i = 0; i < n; ++i) out += token_bytes(ids[i]);
  if (impl_->strips_leading_space() && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

std::string_view Tokenizer::token_bytes(int32_t id) const {
  if (!impl_->has_token(id)) {
    throw std::out_of_range("merino tokenizer: id " + std::to_string(id) + " is not in the vocabulary (size " +
                            std::to_string(impl_->vocab_size()) + ")");
  }
  return impl_->token_bytes(id);
}

int Tokenizer::vocab_size() const { return impl_->vocab_size(); }

int32_t Tokenizer::eot_token() const { return impl_->eot_token(); }

}  // namespace merino
