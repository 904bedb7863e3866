// A textbook GPT-2 BPE, the independent reference merino's tokenizer is checked against
// (tests/data/test_tokenizer_reference.cpp) and timed against (bench/bench_tokenizer.cpp):
// encoder.py's bpe() loop as written there -- find the lowest-ranked adjacent pair, merge every
// occurrence left to right, repeat; quadratic, no cache -- with its own copy of GPT-2's byte
// alphabet, so that it shares nothing with merino's tables. Only the regex split into pieces is
// merino's (data/pretokenizer.h): it is not what this checks.
#pragma once
#include <climits>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/tokenizer/pretokenizer.h"

namespace merino::reference {

class TextbookBpe {
 public:
  TextbookBpe(const std::string& encoder_json, const std::string& vocab_bpe) {
    // GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for 256 + i
    std::unordered_map<std::string, char> unmap;  // UTF-8 of an alphabet character -> byte
    int shifted = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      const int cp = printable ? b : 256 + shifted++;
      const std::string u = cp < 0x80 ? std::string(1, char(cp))
                                       : std::string{char(0xC0 | (cp >> 6)), char(0x80 | (cp & 0x3F))};
      unmap[u] = char(b);
    }
    auto to_bytes = [&](const std::string& s) {
      std::string out;
      for (size_t i = 0; i < s.size();) {
        const size_t len = (static_cast<unsigned char>(s[i]) < 0x80) ? 1 : 2;
        const auto it = unmap.find(s.substr(i, len));
        if (it == unmap.end()) throw std::runtime_error("not GPT-2's byte alphabet: " + s);
        out += it->second;
        i += len;
      }
      return out;
    };
    std::ifstream e(encoder_json);
    if (!e) throw std::runtime_error("cannot open " + encoder_json);
    const nlohmann::json encoder = nlohmann::json::parse(e);  // named: items() refers to it
    for (const auto& [sym, id] : encoder.items()) ids_[to_bytes(sym)] = id.get<int32_t>();
    std::ifstream merges(vocab_bpe);
    if (!merges) throw std::runtime_error("cannot open " + vocab_bpe);
    std::string line;
    int rank = 0;
    while (std::getline(merges, line)) {
      // the header line only: merges such as "# #" start with '#' too
      if (line.empty() || line.rfind("#version", 0) == 0) continue;
      const size_t sp = line.find(' ');
      ranks_[key(to_bytes(line.substr(0, sp)), to_bytes(line.substr(sp + 1)))] = rank++;
    }
  }

  void encode_piece(const std::string& piece, std::vector<int32_t>& out) const {
    std::vector<std::string> word;
    for (char c : piece) word.emplace_back(1, c);
    while (word.size() > 1) {
      int best = INT_MAX;
      size_t at = 0;
      for (size_t i = 0; i + 1 < word.size(); ++i) {
        const auto it = ranks_.find(key(word[i], word[i + 1]));
        if (it != ranks_.end() && it->second < best) {
          best = it->second;
          at = i;
        }
      }
      if (best == INT_MAX) break;
      const std::string first = word[at], second = word[at + 1];
      std::vector<std::string> merged;
      for (size_t i = 0; i < word.size();) {
        if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
          merged.push_back(first + second);
          i += 2;
        } else {
          merged.push_back(word[i++]);
        }
      }
      word.swap(merged);
    }
    for (const std::string& w : word) out.push_back(ids_.at(w));
  }

  // the ids of `text`, split into pieces by `pre`
  std::vector<int32_t> encode(const tok::Pretokenizer& pre, const std::string& text) const {
    tok::Pretokenizer::Scratch scratch(pre);
    std::vector<tok::Pretokenizer::Span> spans;
    pre.split(text, scratch, spans);
    std::vector<int32_t> out;
    for (const auto& [b, e] : spans) encode_piece(text.substr(b, e - b), out);
    return out;
  }

 private:
  static std::string key(const std::string& a, const std::string& b) {
    return std::string(1, static_cast<char>(a.size())) + a + b;  // length prefix: no ambiguity
  }
  std::unordered_map<std::string, int32_t> ids_;
  std::unordered_map<std::string, int> ranks_;
};

}  // namespace merino::reference
