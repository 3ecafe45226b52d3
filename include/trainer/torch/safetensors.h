#pragma once
// The safetensors format: 8-byte little-endian header length, a JSON header mapping each tensor's
// name to {dtype, shape, data_offsets} (plus "__metadata__"), then the raw little-endian data.
// Files written here load with Python's safetensors, and Python's load here.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "trainer/torch/model.h"

namespace trainer {

// The file's bytes, in memory (tensors copied to CPU, contiguous).
std::string safetensors_bytes(const NamedTensors& tensors,
                              const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

// Writes tensors (copied to CPU, contiguous) atomically. Metadata defaults to {"format": "pt"}.
void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

// Reads every tensor. Refuses (std::runtime_error naming the file and the problem) truncated files,
// oversized headers, unknown dtypes, shapes that disagree with their byte ranges, and ranges that
// overlap or fall outside the data.
// The same checks on bytes in memory; `source` names them in errors.
NamedTensors parse_safetensors(std::string_view bytes, const std::string& source,
                               std::map<std::string, std::string>* metadata = nullptr);

// `metadata`, when given, receives the "__metadata__" string map.
NamedTensors load_safetensors(const std::filesystem::path& path,
                              std::map<std::string, std::string>* metadata = nullptr);

}  // namespace trainer
