#pragma once
// EventFileWriter: TensorBoard event files ("tfevents"), written the way TensorBoard's own writer
// writes them, so TensorBoard, tensorboardX readers and tbparse read them unchanged.
//   file   <log_dir>/events.out.tfevents.<%010d unix time>.<hostname>.<pid>.<N><suffix>
//   record u64 length, masked CRC32C of the length, an Event protobuf, masked CRC32C of the Event
//   first  Event{file_version "brain.Event:2"}
// Not thread-safe: one thread (an integration's BackgroundWriter) owns a writer.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace trainer {

// CRC-32C (Castagnoli), and the rotated-plus-constant mask TFRecord stores.
uint32_t crc32c(std::string_view data);
uint32_t masked_crc32c(std::string_view data);
// One TFRecord: header, payload, footer.
std::string tfrecord_frame(std::string_view payload);

// The file name TensorBoard's writer uses; `counter` numbers the writers of one process from 0.
std::string event_file_name(int64_t unix_seconds, const std::string& hostname, int64_t pid, int64_t counter,
                            const std::string& suffix = "");

class EventFileWriter {
 public:
  // Creates log_dir and a new event file in it, and writes the file_version record.
  // Throws std::runtime_error naming the path and the system error.
  explicit EventFileWriter(const std::filesystem::path& log_dir, const std::string& filename_suffix = "");
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  // A scalar as TensorBoard's add_scalar stores it: simple_value, a float32.
  void add_scalar(const std::string& tag, double value, int64_t step, double wall_time);
  // Text as the text plugin stores it: tag + "/text_summary", a DT_STRING tensor of shape [1].
  void add_text(const std::string& tag, const std::string& text, int64_t step, double wall_time);
  void flush();  // hands buffered records to the OS (as TensorBoard's flush does; no fsync)
  void close();
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& payload);

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

// Seconds since the epoch, as a double (Event.wall_time).
double unix_time_now();

}  // namespace trainer
