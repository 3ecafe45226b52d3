#pragma once
// The name of the project's JSON value, without nlohmann's implementation: for headers that only
// pass Json by reference or pointer (callback.h), so that their includers compile quickly.
// json.h has the rest.

#include <nlohmann/json_fwd.hpp>

namespace trainer {

using Json = nlohmann::ordered_json;

}  // namespace trainer
