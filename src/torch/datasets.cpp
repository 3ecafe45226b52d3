#include "trainer/torch/datasets.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <torch/torch.h>

namespace trainer {
namespace {

namespace fs = std::filesystem;

// Reads a whole file through zlib, which passes uncompressed files through unchanged.
std::vector<uint8_t> read_maybe_gzipped(const std::string& path) {
  if (!fs::exists(path)) throw std::runtime_error(path + ": file not found");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error(path + ": cannot open");
  std::vector<uint8_t> data;
  uint8_t buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) data.insert(data.end(), buf, buf + n);
  int err = 0;
  const char* msg = gzerror(f, &err);
  std::string error = (n < 0 || err < 0) ? msg : "";
  gzclose(f);
  if (!error.empty()) throw std::runtime_error(path + ": corrupt gzip data (" + error + ")");
  return data;
}

uint32_t be32(const std::vector<uint8_t>& d, size_t off) {
  return (uint32_t(d[off]) << 24) | (uint32_t(d[off + 1]) << 16) | (uint32_t(d[off + 2]) << 8) | uint32_t(d[off + 3]);
}

// Parses an idx file of unsigned bytes; returns the dimensions and the offset of the data.
std::vector<int64_t> idx_header(const std::vector<uint8_t>& d, const std::string& path, size_t& offset) {
  if (d.size() < 4 || d[0] != 0 || d[1] != 0) throw std::runtime_error(path + ": not an idx file (bad magic number)");
  if (d[2] != 0x08)
    throw std::runtime_error(path + ": idx element type " + std::to_string(d[2]) +
                             " is not supported (only unsigned bytes)");
  const int ndim = d[3];
  if (ndim < 1 || d.size() < 4 + 4 * size_t(ndim)) throw std::runtime_error(path + ": truncated idx header");
  std::vector<int64_t> dims;
  uint64_t count = 1;
  for (int i = 0; i < ndim; ++i) {
    dims.push_back(be32(d, 4 + 4 * size_t(i)));
    count *= uint64_t(dims.back());
  }
  offset = 4 + 4 * size_t(ndim);
  if (d.size() - offset != count)
    throw std::runtime_error(path + ": idx header promises " + std::to_string(count) + " values, the file holds " +
                             std::to_string(d.size() - offset));
  return dims;
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"')
        quoted = false;
      else
        cur += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

}  // namespace

std::shared_ptr<TensorDataset> load_idx(const std::string& images_path, const std::string& labels_path) {
  auto images = read_maybe_gzipped(images_path);
  auto labels = read_maybe_gzipped(labels_path);
  size_t img_off = 0, lab_off = 0;
  auto img_dims = idx_header(images, images_path, img_off);
  auto lab_dims = idx_header(labels, labels_path, lab_off);
  if (lab_dims.size() != 1) throw std::runtime_error(labels_path + ": a labels file must be one-dimensional");
  if (img_dims[0] != lab_dims[0])
    throw std::runtime_error(images_path + " has " + std::to_string(img_dims[0]) + " examples but " + labels_path +
                             " has " + std::to_string(lab_dims[0]) + " labels");
  auto x = torch::from_blob(images.data() + img_off, img_dims, torch::kUInt8).to(torch::kFloat).div_(255.0);
  auto y = torch::from_blob(labels.data() + lab_off, {lab_dims[0]}, torch::kUInt8).to(torch::kLong);
  return std::make_shared<TensorDataset>(x, y);
}

std::shared_ptr<TensorDataset> load_csv(const std::string& path, const std::string& label_column,
                                        const std::vector<std::string>& feature_order) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": file not found or not readable");
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(path + ": empty file (expected a header row)");
  auto header = split_csv_line(line);
  int label_idx = -1;
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == label_column) label_idx = static_cast<int>(i);
  if (label_idx < 0)
    throw std::runtime_error(path + ":1: no column named '" + label_column + "' in the header (set --label_column)");
  if (header.size() < 2) throw std::runtime_error(path + ":1: need at least one feature column besides the label");
  // Where each cell goes: feature columns in the file's order, or in `feature_order` by name.
  std::vector<std::string> names;
  for (size_t i = 0; i < header.size(); ++i)
    if (static_cast<int>(i) != label_idx) names.push_back(header[i]);
  std::vector<size_t> slot(header.size(), 0);
  {
    const std::vector<std::string>& order = feature_order.empty() ? names : feature_order;
    for (const auto& want : order)
      if (std::find(names.begin(), names.end(), want) == names.end())
        throw std::runtime_error(path + ":1: no column named '" + want +
                                 "', which the training data has (columns are matched by name)");
    for (const auto& have : names)
      if (std::find(order.begin(), order.end(), have) == order.end())
        throw std::runtime_error(path + ":1: column '" + have +
                                 "' is not in the training data (columns are matched by name)");
    for (size_t i = 0, f = 0; i < header.size(); ++i)
      if (static_cast<int>(i) != label_idx)
        slot[i] = static_cast<size_t>(std::find(order.begin(), order.end(), names[f++]) - order.begin());
    names = order;
  }
  std::vector<float> row(names.size());
  std::vector<float> features;
  std::vector<int64_t> labels;
  size_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line == "\r") continue;
    auto cells = split_csv_line(line);
    if (cells.size() != header.size())
      throw std::runtime_error(path + ":" + std::to_string(line_no) + ": " + std::to_string(cells.size()) +
                               " columns, the header has " + std::to_string(header.size()));
    for (size_t i = 0; i < cells.size(); ++i) {
      char* end = nullptr;
      const std::string& cell = cells[i];
      if (static_cast<int>(i) == label_idx) {
        long long v = std::strtoll(cell.c_str(), &end, 10);
        if (cell.empty() || *end != '\0' || v < 0)
          throw std::runtime_error(path + ":" + std::to_string(line_no) + ": label '" + cell +
                                   "' is not a class index (0, 1, 2, ...)");
        labels.push_back(v);
      } else {
        float v = std::strtof(cell.c_str(), &end);
        if (cell.empty() || *end != '\0')
          throw std::runtime_error(path + ":" + std::to_string(line_no) + ": column '" + header[i] + "' value '" +
                                   cell + "' is not a number");
        row[slot[i]] = v;
      }
    }
    features.insert(features.end(), row.begin(), row.end());
  }
  if (labels.empty()) throw std::runtime_error(path + ": no data rows after the header");
  const auto n = static_cast<int64_t>(labels.size());
  auto x = torch::from_blob(features.data(), {n, static_cast<int64_t>(header.size() - 1)}, torch::kFloat).clone();
  auto y = torch::tensor(labels, torch::kLong);
  auto dataset = std::make_shared<TensorDataset>(x, y);
  dataset->feature_names = std::move(names);
  return dataset;
}

std::shared_ptr<TensorDataset> load_dataset_file(const std::string& path, const std::string& label_column,
                                                 const std::vector<std::string>& feature_order) {
  fs::path p(path);
  auto ext = p.extension().string();
  if (ext == ".csv") return load_csv(path, label_column, feature_order);
  std::string name = p.filename().string();
  auto pos = name.find("images-idx3");
  if (pos == std::string::npos)
    throw std::runtime_error(path +
                             ": expected a .csv file or an idx images file named like train-images-idx3-ubyte[.gz]");
  std::string labels_name = name.substr(0, pos) + "labels-idx1" + name.substr(pos + std::string("images-idx3").size());
  return load_idx(path, (p.parent_path() / labels_name).string());
}

std::shared_ptr<TensorDataset> load_fashion_mnist(const std::string& split, const std::string& dir) {
  if (split != "train" && split != "test")
    throw std::invalid_argument("load_fashion_mnist: split must be train or test");
  const std::string prefix = split == "train" ? "train" : "t10k";
  auto find = [&](const std::string& stem) -> std::string {
    for (const char* ext : {".gz", ""}) {
      auto p = fs::path(dir) / (stem + ext);
      if (fs::exists(p)) return p.string();
    }
    throw std::runtime_error(
        "Fashion-MNIST not found: " + (fs::path(dir) / (stem + ".gz")).string() +
        " is missing. Install it with `sudo apt-get install dataset-fashion-mnist` "
        "(or run scripts/install-deps.sh), or pass --dataset_dir DIR or --train_file/--eval_file.");
  };
  return load_idx(find(prefix + "-images-idx3-ubyte"), find(prefix + "-labels-idx1-ubyte"));
}

}  // namespace trainer
