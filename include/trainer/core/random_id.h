#pragma once
// Random identifiers as the services' own clients make them: run ids, offline keys, client ids.
// Not for secrets (a seeded mt19937_64, one per thread).

#include <string>

namespace trainer {

// `length` characters drawn from `alphabet`.
std::string random_id(size_t length, const std::string& alphabet = "abcdefghijklmnopqrstuvwxyz0123456789");
std::string random_hex(size_t length);
std::string random_uuid4();  // 8-4-4-4-12 hex, version 4, RFC 4122 variant

}  // namespace trainer
