#include "trainer/torch/rng_state.h"

#include <fstream>
#include <iterator>
#include <mutex>
#include <stdexcept>

#include <ATen/Context.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include "trainer/core/atomic_file.h"
#include "trainer/core/logging.h"

namespace trainer {
namespace {

at::Tensor generator_state(at::Generator gen) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_generator_state(at::Generator gen, const at::Tensor& state) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

}  // namespace

std::string rng_state_bytes() {
  c10::impl::GenericDict states(c10::StringType::get(), c10::AnyType::get());
  states.insert("cpu", generator_state(at::detail::getDefaultCPUGenerator()));
  if (torch::cuda::is_available()) {
    c10::List<at::Tensor> cuda;
    for (size_t i = 0; i < torch::cuda::device_count(); ++i)
      cuda.push_back(
          generator_state(at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<int8_t>(i)))));
    states.insert("cuda", cuda);
  }
  const std::vector<char> bytes = torch::pickle_save(states);
  return std::string(bytes.data(), bytes.size());
}

void save_rng_state(const std::filesystem::path& path) { write_file_atomic(path, rng_state_bytes()); }

void load_rng_state(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    throw std::runtime_error(path.string() + ": not a readable RNG state file (" + e.what_without_backtrace() + ")");
  }
  if (!value.isGenericDict()) throw std::runtime_error(path.string() + ": expected a dict of generator states");
  auto dict = value.toGenericDict();
  if (dict.contains("cpu")) set_generator_state(at::detail::getDefaultCPUGenerator(), dict.at("cpu").toTensor());
  if (dict.contains("cuda")) {
    auto list = dict.at("cuda").toList();
    if (!torch::cuda::is_available() || list.size() != torch::cuda::device_count()) {
      log_warning(path.string() + ": CUDA generator states were saved for " + std::to_string(list.size()) +
                  " devices; this machine has a different number, so they are not restored");
      return;
    }
    for (size_t i = 0; i < list.size(); ++i)
      set_generator_state(at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<int8_t>(i))),
                          list.get(i).toTensor());
  }
}

}  // namespace trainer
