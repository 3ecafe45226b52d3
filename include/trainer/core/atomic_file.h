#pragma once
// The one way this project publishes files: write beside the target, flush to disk, rename into
// place. A crash at any moment leaves either the old file or the new one, never a torn one.

#include <filesystem>
#include <string_view>

namespace trainer {

// Throws std::runtime_error naming the path and the system error (e.g. "No space left on device").
void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

// Flushes a directory's entries (after creating or renaming inside it).
void fsync_directory(const std::filesystem::path& dir);

// Flushes one file's contents to disk.
void fsync_file(const std::filesystem::path& path);

}  // namespace trainer
