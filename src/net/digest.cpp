#include "trainer/net/digest.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <memory>
#include <stdexcept>
#include <vector>

namespace trainer {
namespace {

using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

DigestContext new_context(const EVP_MD* type) {
  DigestContext ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), type, nullptr) != 1)
    throw std::runtime_error("OpenSSL: cannot start a digest");
  return ctx;
}

std::string final_digest(EVP_MD_CTX* ctx) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx, out, &size) != 1) throw std::runtime_error("OpenSSL: cannot finish a digest");
  return std::string(reinterpret_cast<const char*>(out), size);
}

std::string digest(const EVP_MD* type, std::string_view data) {
  DigestContext ctx = new_context(type);
  EVP_DigestUpdate(ctx.get(), data.data(), data.size());
  return final_digest(ctx.get());
}

std::string digest_of_file(const EVP_MD* type, const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  DigestContext ctx = new_context(type);
  std::vector<char> block(1 << 20);
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    EVP_DigestUpdate(ctx.get(), block.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw std::runtime_error("cannot read " + file.string());
  return final_digest(ctx.get());
}

}  // namespace

std::string md5(std::string_view data) { return digest(EVP_md5(), data); }
std::string sha256(std::string_view data) { return digest(EVP_sha256(), data); }
std::string md5_of_file(const std::filesystem::path& file) { return digest_of_file(EVP_md5(), file); }
std::string sha256_of_file(const std::filesystem::path& file) { return digest_of_file(EVP_sha256(), file); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &size))
    throw std::runtime_error("OpenSSL: HMAC-SHA-256 failed");
  return std::string(reinterpret_cast<const char*>(out), size);
}

std::string hex_encode(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string base64_encode(std::string_view in) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += alphabet[(v >> shift) & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace trainer
