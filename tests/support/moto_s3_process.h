#pragma once
// MotoS3Process: moto's S3 server (PyPI's moto, in .venv/) on 127.0.0.1 with its access control on
// and the buckets named, for as long as the object lives (tests/support/moto_s3.py). Requests
// must be signed with the key it made or moto refuses them as AWS would. object() reads an
// object back with botocore, a client independent of the project's.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace trainer::testing {

class MotoS3Process {
 public:
  MotoS3Process(const std::filesystem::path& dir, const std::string& bucket) : dir_(dir), bucket_(bucket) {
    std::filesystem::create_directories(dir);
    const std::string script = std::string(TRAINER_SOURCE_DIR) + "/tests/support/moto_s3.py";
    const std::string info = (dir / "moto.json").string(), log = (dir / "moto.log").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen(log.c_str(), "w", stdout);
      std::freopen(log.c_str(), "a", stderr);
      ::execl(TRAINER_PYTHON, TRAINER_PYTHON, script.c_str(), info.c_str(), bucket.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(info);
      if (in) {
        const auto j = nlohmann::json::parse(in);
        url_ = j.at("url").get<std::string>();
        access_key_ = j.at("access_key").get<std::string>();
        secret_key_ = j.at("secret_key").get<std::string>();
        return;
      }
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("moto's S3 server did not start (scripts/install-deps.sh --tests installs moto); see " +
                             log);
  }
  ~MotoS3Process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  MotoS3Process(const MotoS3Process&) = delete;
  MotoS3Process& operator=(const MotoS3Process&) = delete;

  const std::string& url() const { return url_; }
  const std::string& access_key() const { return access_key_; }
  const std::string& secret_key() const { return secret_key_; }

  // The object's bytes as botocore reads them from moto ("" when there is none), through
  // tests/support/s3_read.py, which the shell tests use too.
  std::string object(const std::string& key) const {
    static int n = 0;
    const auto out = dir_ / ("object-" + std::to_string(n++));
    const std::string command = std::string(TRAINER_PYTHON) + " " + TRAINER_SOURCE_DIR + "/tests/support/s3_read.py '" +
                                (dir_ / "moto.json").string() + "' " + bucket_ + " cat '" + key + "' > '" +
                                out.string() + "'";
    const int status = std::system(command.c_str());  // 1: no such object, and `out` stays empty
    (void)status;
    std::ifstream in(out, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

 private:
  std::filesystem::path dir_;
  std::string bucket_;
  pid_t pid_ = -1;
  std::string url_, access_key_, secret_key_;
};

}  // namespace trainer::testing
