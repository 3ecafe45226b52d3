#pragma once
// What callbacks may know about a data loader without LibTorch: its sizes. The loader that yields
// tensors (trainer/torch/data_loader.h) implements this interface.

#include <cstdint>

namespace trainer {

class DataLoader {
 public:
  virtual ~DataLoader() = default;
  // Batches per epoch (the original's len(dataloader)).
  virtual int64_t num_batches() const = 0;
  // Examples in the dataset.
  virtual int64_t num_examples() const = 0;
  virtual int64_t batch_size() const = 0;
};

}  // namespace trainer
