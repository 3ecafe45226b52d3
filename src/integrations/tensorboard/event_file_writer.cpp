#include "integrations/tensorboard/event_file_writer.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "event.pb.h"
#include "trainer/core/environment.h"
#include "trainer/core/little_endian.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}

// Writers created by this process so far: the <N> of the file name.
std::atomic<int64_t> writers_created{0};

std::runtime_error io_error(const std::string& what, const fs::path& path) {
  return std::runtime_error(what + " " + path.string() + ": " + std::strerror(errno));
}

}  // namespace

uint32_t crc32c(std::string_view data) {
  static const std::array<uint32_t, 256> table = make_crc32c_table();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(std::string_view data) {
  const uint32_t c = crc32c(data);
  return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
}

std::string tfrecord_frame(std::string_view payload) {
  const std::string length = little_endian(payload.size(), 8);
  std::string record;
  record.reserve(payload.size() + 16);
  record += length;
  record += little_endian(masked_crc32c(length), 4);
  record += payload;
  record += little_endian(masked_crc32c(payload), 4);
  return record;
}

std::string event_file_name(int64_t unix_seconds, const std::string& hostname, int64_t pid, int64_t counter,
                            const std::string& suffix) {
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%010lld", static_cast<long long>(unix_seconds));
  return std::string("events.out.tfevents.") + seconds + "." + hostname + "." + std::to_string(pid) + "." +
         std::to_string(counter) + suffix;
}

double unix_time_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

EventFileWriter::EventFileWriter(const fs::path& log_dir, const std::string& filename_suffix) {
  std::error_code ec;
  fs::create_directories(log_dir, ec);
  if (ec) throw std::runtime_error("cannot create TensorBoard log directory " + log_dir.string() + ": " + ec.message());
  const double now = unix_time_now();
  path_ =
      log_dir / event_file_name(static_cast<int64_t>(now), host_name(), ::getpid(), writers_created++, filename_suffix);
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) throw io_error("cannot create TensorBoard event file", path_);
  tensorboard::Event event;
  event.set_wall_time(now);
  event.set_file_version("brain.Event:2");
  event.mutable_source_metadata()->set_writer("trainer.integrations.tensorboard");
  write_record(event.SerializeAsString());
  flush();
}

EventFileWriter::~EventFileWriter() {
  if (file_) std::fclose(file_);
}

void EventFileWriter::add_scalar(const std::string& tag, double value, int64_t step, double wall_time) {
  tensorboard::Event event;
  event.set_wall_time(wall_time);
  event.set_step(step);
  auto* v = event.mutable_summary()->add_value();
  v->set_tag(tag);
  v->set_simple_value(static_cast<float>(value));
  write_record(event.SerializeAsString());
}

void EventFileWriter::add_text(const std::string& tag, const std::string& text, int64_t step, double wall_time) {
  tensorboard::Event event;
  event.set_wall_time(wall_time);
  event.set_step(step);
  auto* v = event.mutable_summary()->add_value();
  v->set_tag(tag + "/text_summary");
  // The text plugin's content is TextPluginData{version: 0}, which serializes to no bytes.
  v->mutable_metadata()->mutable_plugin_data()->set_plugin_name("text");
  auto* tensor = v->mutable_tensor();
  tensor->set_dtype(tensorboard::DT_STRING);
  tensor->mutable_tensor_shape()->add_dim()->set_size(1);
  tensor->add_string_val(text);
  write_record(event.SerializeAsString());
}

void EventFileWriter::write_record(const std::string& payload) {
  if (!file_) throw std::runtime_error("TensorBoard event file " + path_.string() + " is closed");
  const std::string record = tfrecord_frame(payload);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size()) throw io_error("cannot write", path_);
}

void EventFileWriter::flush() {
  if (file_ && std::fflush(file_) != 0) throw io_error("cannot write", path_);
}

void EventFileWriter::close() {
  if (!file_) return;
  const int flushed = std::fflush(file_);
  const int closed = std::fclose(file_);
  file_ = nullptr;
  if (flushed != 0 || closed != 0) throw io_error("cannot write", path_);
}

}  // namespace trainer
