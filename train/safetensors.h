// safetensors files (the Hugging Face format): u64 little-endian header length N, N bytes of
// JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then
// the raw little-endian data, offsets relative to the end of the header. Only F32 is written
// for now; F16 and BF16 are read on request (import of published models), widened exactly to
// F32. Reading validates everything before use: header size within the file, JSON, dtype,
// shape x element size == byte range, ranges inside the data and not overlapping.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace merino {

struct TensorView {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;  // numel(shape) floats
};

// Serialises to bytes (the caller writes them atomically with its other files).
std::string encode_safetensors(const std::vector<TensorView>& tensors,
                               const std::map<std::string, std::string>& metadata);
// The bytes before the tensor data: encode_safetensors is this followed by each tensor's floats
// in order, so a writer can stream the data without a copy of it.
std::string encode_safetensors_header(const std::vector<TensorView>& tensors,
                                      const std::map<std::string, std::string>& metadata);

struct SafetensorsFile {
  struct Tensor {
    std::vector<int64_t> shape;
    std::vector<float> data;
  };
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Throws DataError "PATH: problem" for any malformed content. Tensors must be F32 unless
// `widen_half`, which also accepts F16 and BF16.
SafetensorsFile read_safetensors(const std::string& path, bool widen_half = false);
// The same for a file's bytes already in memory; `path` only names it in errors.
SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& path, bool widen_half = false);

}  // namespace merino
