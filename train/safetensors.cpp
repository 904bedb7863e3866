#include "train/safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "base/errors.h"

namespace merino {
namespace {

size_t numel(const std::vector<int64_t>& shape) {
  size_t n = 1;
  for (int64_t d : shape) n *= size_t(d);
  return n;
}

// Published models often ship in half precision; every F16 and BF16 value is exactly a float.
float bf16_to_f32(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float magnitude;
  if (exp == 0) magnitude = std::ldexp(float(mant), -24);  // zero and subnormals
  else if (exp == 31) magnitude = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else magnitude = std::ldexp(float(mant | 0x400), int(exp) - 25);
  uint32_t bits;
  std::memcpy(&bits, &magnitude, 4);
  bits |= sign;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

std::string encode_safetensors(const std::vector<TensorView>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  std::string out = encode_safetensors_header(tensors, metadata);
  size_t data_bytes = 0;
  for (const TensorView& t : tensors) data_bytes += numel(t.shape) * sizeof(float);
  out.reserve(out.size() + data_bytes);
  for (const TensorView& t : tensors)
    out.append(reinterpret_cast<const char*>(t.data), numel(t.shape) * sizeof(float));
  return out;
}

std::string encode_safetensors_header(const std::vector<TensorView>& tensors,
                                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const TensorView& t : tensors) {
    const size_t bytes = numel(t.shape) * sizeof(float);
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // align the data to 8 bytes, as HF does
  const uint64_t n = json.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
  out += json;
  return out;
}

SafetensorsFile read_safetensors(const std::string& path, bool widen_half) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot open file");
  return parse_safetensors(
      std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), path, widen_half);
}

SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& path, bool widen_half) {
  auto fail = [&](const std::string& why) -> void { throw DataError(path + ": " + why); };
  if (bytes.size() < 8) fail("truncated: shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(uint8_t(bytes[size_t(i)])) << (8 * i);
  if (n > bytes.size() - 8) fail("truncated: header length " + std::to_string(n) + " exceeds the file");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + std::ptrdiff_t(n));
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail("header is not a JSON object");
  const size_t data_begin = 8 + size_t(n), data_size = bytes.size() - data_begin;
  SafetensorsFile out;
  std::vector<std::pair<size_t, size_t>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& e = it.value();
    if (name == "__metadata__") {
      if (!e.is_object()) fail("__metadata__ is not an object");
      for (auto m = e.begin(); m != e.end(); ++m) {
        if (!m.value().is_string()) fail("__metadata__." + m.key() + " is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
      fail("tensor '" + name + "' lacks dtype, shape or data_offsets");
    const std::string dtype = e["dtype"].is_string() ? e["dtype"].get<std::string>() : "";
    if (dtype != "F32" && !(widen_half && (dtype == "F16" || dtype == "BF16")))
      fail("tensor '" + name + "' has dtype " + e["dtype"].dump() +
           (widen_half ? ", expected \"F32\", \"F16\" or \"BF16\"" : ", expected \"F32\""));
    const size_t elem = dtype == "F32" ? 4 : 2;
    SafetensorsFile::Tensor t;
    const auto& shape = e["shape"];
    const auto& offs = e["data_offsets"];
    if (!shape.is_array()) fail("tensor '" + name + "' shape is not a list");
    for (const auto& d : shape) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) fail("tensor '" + name + "' has a bad dimension");
      t.shape.push_back(d.get<int64_t>());
    }
    if (!offs.is_array() || offs.size() != 2 || !offs[0].is_number_unsigned() || !offs[1].is_number_unsigned())
      fail("tensor '" + name + "' data_offsets is not [begin, end]");
    const size_t begin = offs[0].get<size_t>(), end = offs[1].get<size_t>();
    if (begin > end || end > data_size) fail("tensor '" + name + "' data lies outside the file (truncated?)");
    // checked, as a crafted shape's product can wrap around to the byte range's size
    size_t elements = 1;
    for (int64_t d : t.shape)
      if (__builtin_mul_overflow(elements, size_t(d), &elements) || elements > SIZE_MAX / sizeof(float))
        fail("tensor '" + name + "' shape " + shape.dump() + ": the element count overflows");
    if (end - begin != elements * elem)
      fail("tensor '" + name + "' byte range does not match its shape");
    ranges.emplace_back(begin, end);
    t.data.resize(numel(t.shape));
    const char* src = bytes.data() + data_begin + begin;
    if (elem == 4) {
      std::memcpy(t.data.data(), src, end - begin);
    } else {
      for (size_t i = 0; i < t.data.size(); ++i) {
        const uint16_t h = uint16_t(uint8_t(src[2 * i]) | uint8_t(src[2 * i + 1]) << 8);
        t.data[i] = dtype == "BF16" ? bf16_to_f32(h) : f16_to_f32(h);
      }
    }
    out.tensors.emplace(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) fail("tensor byte ranges overlap");
  return out;
}

}  // namespace merino
