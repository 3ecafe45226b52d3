#pragma once
// The one way this project publishes files: write beside the target, flush to disk, rename into
// place. A crash at any moment leaves either the old file or the new one, never a torn one.

#include <filesystem>
#include <string_view>

namespace trainer {

// kSynced also flushes the file and its directory to disk before and after the rename (checkpoints,
// anything a resume depends on). kReplaceOnly keeps the all-or-nothing replacement for readers but
// leaves flushing to the OS (tracker files rewritten many times a second).
enum class Durability { kSynced, kReplaceOnly };

// Throws std::runtime_error naming the path and the system error (e.g. "No space left on device").
void write_file_atomic(const std::filesystem::path& path, std::string_view contents,
                       Durability durability = Durability::kSynced);

// Flushes a directory's entries (after creating or renaming inside it).
void fsync_directory(const std::filesystem::path& dir);

// Flushes one file's contents to disk.
void fsync_file(const std::filesystem::path& path);

}  // namespace trainer
