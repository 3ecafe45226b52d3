#include "trainer/torch/safetensors.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string_view>

#include <torch/torch.h>

#include "trainer/core/atomic_file.h"
#include "trainer/core/json.h"

namespace trainer {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // as the reference implementation

struct DType {
  const char* name;
  torch::ScalarType type;
  size_t bytes;
};
const DType kDTypes[] = {{"F64", torch::kDouble, 8},    {"F32", torch::kFloat, 4}, {"F16", torch::kHalf, 2},
                         {"BF16", torch::kBFloat16, 2}, {"I64", torch::kLong, 8},  {"I32", torch::kInt, 4},
                         {"I16", torch::kShort, 2},     {"I8", torch::kChar, 1},   {"U8", torch::kByte, 1},
                         {"BOOL", torch::kBool, 1}};

const DType& by_type(torch::ScalarType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d;
  throw std::runtime_error(std::string("safetensors: dtype ") + c10::toString(t) + " is not supported");
}

}  // namespace

std::string safetensors_bytes(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) {
    Json meta = Json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = meta;
  }
  std::vector<torch::Tensor> cpu;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    auto c = t.detach().to(torch::kCPU).contiguous();
    const auto& d = by_type(c.scalar_type());
    const uint64_t n = static_cast<uint64_t>(c.numel()) * d.bytes;
    header[name] = Json{{"dtype", d.name}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + n}}};
    offset += n;
    cpu.push_back(c);
  }
  // Compact separators as the reference writer; the header is padded to 8 bytes for alignment.
  std::string text = header.dump();
  while (text.size() % 8) text.push_back(' ');
  std::string out;
  out.reserve(8 + text.size() + offset);
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
  out += text;
  for (const auto& c : cpu) out.append(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.nbytes()));
  return out;
}

void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, safetensors_bytes(tensors, metadata));
}

NamedTensors parse_safetensors(std::string_view bytes, const std::string& source,
                               std::map<std::string, std::string>* metadata) {
  const std::string where = source + ": ";
  const uint64_t file_size = bytes.size();
  if (file_size < 8) throw std::runtime_error(where + "truncated safetensors file (no header length)");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i)
    header_len = (header_len << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  if (header_len > kMaxHeaderBytes)
    throw std::runtime_error(where + "header length " + std::to_string(header_len) + " is too large");
  if (header_len > file_size - 8)
    throw std::runtime_error(where + "truncated safetensors file (header runs past the end)");
  const std::string_view text = bytes.substr(8, header_len);
  Json header;
  try {
    header = Json::parse(text);
  } catch (const std::exception& e) {
    throw std::runtime_error(where + "invalid header JSON (" + e.what() + ")");
  }
  if (!header.is_object()) throw std::runtime_error(where + "header is not a JSON object");
  const uint64_t data_size = file_size - 8 - header_len;

  struct Entry {
    std::string name;
    const DType* dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) throw std::runtime_error(where + "__metadata__ must be an object of strings");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string()) throw std::runtime_error(where + "__metadata__ values must be strings");
        if (metadata) (*metadata)[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const Json& info = it.value();
    const std::string tw = where + "tensor '" + it.key() + "': ";
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
      throw std::runtime_error(tw + "needs dtype, shape and data_offsets");
    if (!info["dtype"].is_string()) throw std::runtime_error(tw + "dtype must be a string");
    const std::string dtype = info["dtype"].get<std::string>();
    const DType* d = nullptr;
    for (const auto& k : kDTypes)
      if (dtype == k.name) d = &k;
    if (!d) throw std::runtime_error(tw + "unsupported dtype '" + dtype + "'");
    Entry e{it.key(), d, {}, 0, 0};
    uint64_t count = 1;
    if (!info["shape"].is_array()) throw std::runtime_error(tw + "shape must be a list");
    for (const auto& s : info["shape"]) {
      if (!s.is_number_unsigned()) throw std::runtime_error(tw + "shape entries must be non-negative integers");
      const uint64_t v = s.get<uint64_t>();
      if (v != 0 && count > (uint64_t(1) << 62) / v) throw std::runtime_error(tw + "shape is too large");
      count *= v;
      e.shape.push_back(static_cast<int64_t>(v));
    }
    const Json& off = info["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw std::runtime_error(tw + "data_offsets must be [begin, end]");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_size) throw std::runtime_error(tw + "data_offsets fall outside the data");
    if (count > (uint64_t(1) << 62) / d->bytes || e.end - e.begin != count * d->bytes)
      throw std::runtime_error(tw + "shape and dtype need " + std::to_string(count * d->bytes) +
                               " bytes, data_offsets give " + std::to_string(e.end - e.begin));
    entries.push_back(std::move(e));
  }
  std::vector<const Entry*> sorted;
  for (const auto& e : entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i]->begin < sorted[i - 1]->end)
      throw std::runtime_error(where + "tensors '" + sorted[i - 1]->name + "' and '" + sorted[i]->name + "' overlap");

  const char* data = bytes.data() + 8 + header_len;
  NamedTensors out;
  for (const auto& e : entries) {
    auto t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype->type));
    if (e.end > e.begin) std::memcpy(t.data_ptr(), data + e.begin, e.end - e.begin);
    out.emplace_back(e.name, t);
  }
  return out;
}

NamedTensors load_safetensors(const std::filesystem::path& path, std::map<std::string, std::string>* metadata) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_safetensors(bytes, path.string(), metadata);
}

}  // namespace trainer
