#pragma once
// Loading datasets: MNIST's idx format (gzipped or not), CSV files with a label column, and
// Fashion-MNIST as Debian's dataset-fashion-mnist package installs it.

#include <memory>
#include <string>
#include <vector>

#include "trainer/torch/data_loader.h"

namespace trainer {

// Where Debian's dataset-fashion-mnist package puts the files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Reads an idx images file and its labels file (each optionally .gz). Pixel values are scaled to
// [0, 1]. Throws std::runtime_error naming the file and what is wrong with it.
std::shared_ptr<TensorDataset> load_idx(const std::string& images_path, const std::string& labels_path);

// Reads a CSV file with a header row: the column `label_column` holds integer class labels, every
// other column is a numeric feature. With `feature_order` (the feature_names of the training data),
// the features are arranged in that order by column name, and a column missing from either side is
// an error. Throws std::runtime_error naming the file and line at fault.
std::shared_ptr<TensorDataset> load_csv(const std::string& path, const std::string& label_column = "label",
                                        const std::vector<std::string>& feature_order = {});

// Loads a dataset file by its form: `.csv` is CSV; otherwise `path` is an idx images file and the
// labels are found beside it (train-images-idx3-ubyte[.gz] -> train-labels-idx1-ubyte[.gz]).
std::shared_ptr<TensorDataset> load_dataset_file(const std::string& path, const std::string& label_column = "label",
                                                 const std::vector<std::string>& feature_order = {});

// split: "train" or "test". Throws std::runtime_error saying how to install the package when absent.
std::shared_ptr<TensorDataset> load_fashion_mnist(const std::string& split, const std::string& dir = kFashionMnistDir);

}  // namespace trainer
