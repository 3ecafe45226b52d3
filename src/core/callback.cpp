#include "trainer/core/callback.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace trainer {

std::string short_type_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status),
                                                   std::free);
  std::string full = status == 0 && demangled ? demangled.get() : type.name();
  // Drop namespaces but keep template arguments intact.
  size_t cut = 0, depth = 0;
  for (size_t i = 0; i < full.size(); ++i) {
    if (full[i] == '<')
      ++depth;
    else if (full[i] == '>')
      --depth;
    else if (depth == 0 && full[i] == ':' && i + 1 < full.size() && full[i + 1] == ':')
      cut = i + 2;
  }
  return full.substr(cut);
}

std::string TrainerCallback::name() const { return short_type_name(typeid(*this)); }

}  // namespace trainer
