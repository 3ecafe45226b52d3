#pragma once
// Digests and encodings that wire protocols ask for, on OpenSSL's libcrypto: W&B's artifact
// manifests (base64 MD5 of each file), AWS Signature Version 4 (SHA-256, HMAC-SHA-256, hex), Basic
// authorization (base64). Digests are raw bytes in a std::string; encode them with hex or base64.

#include <filesystem>
#include <string>
#include <string_view>

namespace trainer {

std::string md5(std::string_view data);
std::string sha256(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);
// The file read in blocks, never whole. Throws std::runtime_error naming the file when it cannot be read.
std::string md5_of_file(const std::filesystem::path& file);
std::string sha256_of_file(const std::filesystem::path& file);

std::string hex_encode(std::string_view bytes);     // lower case
std::string base64_encode(std::string_view bytes);  // RFC 4648 with '=' padding

}  // namespace trainer
