#include "integrations/flyte/blob_store.h"

#include <unistd.h>

#include <fstream>
#include <iterator>

#include "trainer/core/text.h"
#include "trainer/net/s3_client.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

Delivery retry(std::string message) { return {Delivery::Kind::retry, 1, std::move(message), std::nullopt}; }

// A folder: each file written beside its key and renamed over it, so a reader never sees half a file.
class LocalStore : public BlobStore {
 public:
  explicit LocalStore(fs::path root) : root_(std::move(root)) {}

  Delivery put_file(const fs::path& file, const std::string& key, const std::string&) override {
    return write(key, [&](const fs::path& to) { fs::copy_file(file, to, fs::copy_options::overwrite_existing); });
  }
  Delivery put_text(const std::string& key, const std::string& text) override {
    return write(key, [&](const fs::path& to) {
      std::ofstream out(to, std::ios::binary | std::ios::trunc);
      out << text;
      if (!out.flush()) throw fs::filesystem_error("cannot write", to, std::make_error_code(std::errc::io_error));
    });
  }
  Delivery delete_prefix(const std::string& prefix) override {
    std::error_code ec;
    fs::remove_all(root_ / prefix, ec);
    return ec ? retry(describe() + ": cannot delete " + prefix + ": " + ec.message()) : Delivery::delivered(1);
  }
  std::vector<std::string> list(const std::string& prefix, Delivery* failure) override {
    std::vector<std::string> out;
    std::error_code ec;
    const fs::path start = root_ / prefix;
    if (!fs::exists(start, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(start, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      if (it->is_regular_file() && it->path().filename().string().find(".partial-") == std::string::npos)
        out.push_back(fs::relative(it->path(), root_).generic_string());
    if (ec && failure) *failure = retry(describe() + ": cannot list " + prefix + ": " + ec.message());
    return out;
  }
  Delivery get_file(const std::string& key, const fs::path& file) override {
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    fs::copy_file(root_ / key, file, fs::copy_options::overwrite_existing, ec);
    return ec ? retry(describe() + ": cannot read " + key + ": " + ec.message()) : Delivery::delivered(1);
  }
  std::optional<std::string> get_text(const std::string& key) override {
    std::ifstream in(root_ / key, std::ios::binary);
    if (!in) return std::nullopt;
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::string describe() const override { return root_.string(); }

 private:
  template <typename Write>
  Delivery write(const std::string& key, Write write_to) {
    const fs::path target = root_ / key;
    const fs::path partial = target.string() + ".partial-trainer";
    try {
      fs::create_directories(target.parent_path());
      write_to(partial);
      fs::rename(partial, target);
      return Delivery::delivered(1);
    } catch (const std::exception& e) {  // a full or unmounted disk may come back: try again later
      std::error_code ignored;
      fs::remove(partial, ignored);
      return retry(describe() + ": cannot write " + key + ": " + e.what());
    }
  }
  fs::path root_;
};

class S3Store : public BlobStore {
 public:
  explicit S3Store(const std::string& url)
      : location_(S3Location::parse(url)), client_(S3Settings::from_environment()) {
    while (!location_.key.empty() && location_.key.back() == '/') location_.key.pop_back();
  }

  Delivery put_file(const fs::path& file, const std::string& key, const std::string& content_type) override {
    return answer(client_.put_object(location_.bucket, full(key), file, content_type), "PUT " + key);
  }
  Delivery put_text(const std::string& key, const std::string& text) override {
    return answer(client_.put_bytes(location_.bucket, full(key), text, "text/plain"), "PUT " + key);
  }
  Delivery delete_prefix(const std::string& prefix) override {
    Delivery failed;
    const auto keys = list(prefix, &failed);
    if (failed.kind != Delivery::Kind::delivered) return failed;
    for (const auto& key : keys) {
      const Delivery d = answer(client_.delete_object(location_.bucket, full(key)), "DELETE " + key);
      if (d.kind != Delivery::Kind::delivered) return d;
    }
    return Delivery::delivered(1);
  }
  std::vector<std::string> list(const std::string& prefix, Delivery* failure) override {
    HttpResponse failed;
    const auto objects = client_.list_objects(location_.bucket, full(prefix), &failed);
    if (failed.status != 0 || !failed.error.empty()) {
      if (failure) *failure = answer(failed, "LIST " + prefix);
      return {};
    }
    std::vector<std::string> out;
    const size_t strip = location_.key.empty() ? 0 : location_.key.size() + 1;
    for (const auto& o : objects) out.push_back(o.key.substr(std::min(strip, o.key.size())));
    return out;
  }
  Delivery get_file(const std::string& key, const fs::path& file) override {
    return answer(client_.get_object(location_.bucket, full(key), file), "GET " + key);
  }
  std::optional<std::string> get_text(const std::string& key) override {
    const fs::path tmp =
        fs::temp_directory_path() / ("trainer-s3-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_));
    HttpResponse r = client_.get_object(location_.bucket, full(key), tmp);
    if (r.status == 404) return std::nullopt;
    if (!r.ok()) throw std::runtime_error(classify_response(r, 1, describe() + " GET " + key).message);
    std::ifstream in(tmp, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    fs::remove(tmp);
    return text;
  }
  void set_aborted(bool aborted) override { client_.set_aborted(aborted); }
  std::string describe() const override {
    return "s3://" + location_.bucket + (location_.key.empty() ? "" : "/" + location_.key);
  }

 private:
  std::string full(const std::string& key) const {
    if (location_.key.empty()) return key;
    return key.empty() ? location_.key + "/" : location_.key + "/" + key;
  }
  Delivery answer(const HttpResponse& r, const std::string& what) const {
    return classify_response(r, 1, describe() + " " + what);
  }

  S3Location location_;
  S3Client client_;
  int counter_ = 0;
};

}  // namespace

std::optional<std::string> flyte_location(const std::string& value) {
  std::string v = trim_space(value);
  if (v.empty() || v.find("{{") != std::string::npos) return std::nullopt;
  while (v.size() > 1 && v.back() == '/') v.pop_back();
  return v;
}

std::unique_ptr<BlobStore> BlobStore::open(const std::string& location) {
  if (location.rfind("s3://", 0) == 0) return std::make_unique<S3Store>(location);
  std::string path = location.rfind("file://", 0) == 0 ? location.substr(7) : location;
  return std::make_unique<LocalStore>(fs::path(path));
}

}  // namespace trainer
