#pragma once
// S3rverProcess: s3rver (an S3-compatible server from the npm registry, installed into
// .test-tools/ by scripts/install-deps.sh --tests) on 127.0.0.1 with one bucket, for as long as the
// object lives. Its objects are files on disk: object_file() reads one without any S3 client.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>

namespace trainer::testing {

class S3rverProcess {
 public:
  S3rverProcess(const std::filesystem::path& dir, const std::string& bucket) : dir_(dir), bucket_(bucket) {
    const std::string program = std::string(TRAINER_SOURCE_DIR) + "/.test-tools/node_modules/.bin/s3rver";
    if (::access(program.c_str(), X_OK) != 0)
      throw std::runtime_error(program + " is missing: scripts/install-deps.sh --tests installs it");
    std::filesystem::create_directories(dir / "data");
    const std::string log = (dir / "s3rver.log").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen(log.c_str(), "w", stdout);
      std::freopen(log.c_str(), "a", stderr);
      const std::string data = (dir / "data").string();
      ::execl(program.c_str(), program.c_str(), "-d", data.c_str(), "-a", "127.0.0.1", "-p", "0", "--configure-bucket",
              bucket.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(log);
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const size_t at = text.find("listening on 127.0.0.1:");
      if (at != std::string::npos) {
        port_ = std::stoi(text.substr(at + 23));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("s3rver did not start; see " + log);
  }
  ~S3rverProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The object's bytes as s3rver stored them ("" when there is none).
  std::string object_file(const std::string& key) const {
    std::ifstream in(dir_ / "data" / bucket_ / (key + "._S3rver_object"), std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

 private:
  std::filesystem::path dir_;
  std::string bucket_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace trainer::testing
