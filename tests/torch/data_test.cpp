#include <gtest/gtest.h>

#include <zlib.h>

#include <fstream>

#include "test_support.h"
#include "trainer/torch/data_loader.h"
#include "trainer/torch/datasets.h"

namespace trainer {
namespace {

void write_idx(const std::string& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data, bool gz) {
  std::string bytes = {0, 0, 0x08, static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) bytes.push_back(static_cast<char>((d >> s) & 0xFF));
  bytes.append(data.begin(), data.end());
  if (gz) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary) << bytes;
  }
}

TEST(Datasets, ReadsIdxGzippedOrNot) {
  testing::TempDir dir;
  for (bool gz : {true, false}) {
    const std::string ext = gz ? ".gz" : "";
    const auto images = (dir / ("train-images-idx3-ubyte" + ext)).string();
    write_idx(images, {3, 2, 2}, {0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8}, gz);
    write_idx((dir / ("train-labels-idx1-ubyte" + ext)).string(), {3}, {7, 1, 0}, gz);
    auto d = load_dataset_file(images);
    EXPECT_EQ(d->size(), 3);
    EXPECT_EQ(d->inputs.sizes(), (std::vector<int64_t>{3, 2, 2}));
    EXPECT_FLOAT_EQ(d->inputs[0][0][1].item<float>(), 1.0f);
    EXPECT_FLOAT_EQ(d->inputs[0][1][0].item<float>(), 0.2f);
    EXPECT_EQ(d->labels[0].item<int64_t>(), 7);
  }
}

TEST(Datasets, BadIdxFilesAreClearErrors) {
  testing::TempDir dir;
  const auto images = (dir / "x-images-idx3-ubyte").string();
  const auto labels = (dir / "x-labels-idx1-ubyte").string();
  write_idx(images, {3, 2, 2}, {0, 1, 2}, false);  // promises 12 values, holds 3
  write_idx(labels, {3}, {1, 2, 3}, false);
  try {
    load_idx(images, labels);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("promises 12 values"), std::string::npos) << e.what();
  }
  std::ofstream(images, std::ios::binary) << "hello";
  EXPECT_THROW(load_idx(images, labels), std::runtime_error);
  EXPECT_THROW(load_idx((dir / "none").string(), labels), std::runtime_error);
}

TEST(Datasets, CsvWithALabelColumn) {
  testing::TempDir dir;
  std::ofstream(dir / "data.csv") << "a,label,b\n1.5,2,3\n-1,0,\"4\"\n";
  auto d = load_csv((dir / "data.csv").string());
  EXPECT_EQ(d->inputs.sizes(), (std::vector<int64_t>{2, 2}));
  EXPECT_FLOAT_EQ(d->inputs[1][1].item<float>(), 4.0f);
  EXPECT_EQ(d->labels[0].item<int64_t>(), 2);

  std::ofstream(dir / "bad.csv") << "a,label\n1,0\n2,x\n";
  try {
    load_csv((dir / "bad.csv").string());
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv:3: label 'x'"), std::string::npos) << e.what();
  }
  std::ofstream(dir / "short.csv") << "a,label\n1,0\n2\n";
  EXPECT_THROW(load_csv((dir / "short.csv").string()), std::runtime_error);
  try {
    load_csv((dir / "data.csv").string(), "class");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--label_column"), std::string::npos);
  }
}

TEST(Datasets, MissingFashionMnistSaysHowToInstallIt) {
  testing::TempDir dir;
  try {
    load_fashion_mnist("train", dir.path().string());
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("apt-get install dataset-fashion-mnist"), std::string::npos);
  }
}

TEST(DataLoader, EpochOrderDependsOnlyOnSeedAndEpoch) {
  auto data = std::make_shared<TensorDataset>(torch::arange(10).to(torch::kFloat).unsqueeze(1), torch::arange(10));
  TensorDataLoader::Options o;
  o.batch_size = 4;
  o.shuffle = true;
  o.seed = 5;
  TensorDataLoader a(data, o), b(data, o);
  EXPECT_EQ(a.num_batches(), 3);
  a.set_epoch(1);
  b.set_epoch(0);
  b.set_epoch(1);
  std::vector<int64_t> seen;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(torch::equal(a.batch(i).labels, b.batch(i).labels));
    auto l = a.batch(i).labels;
    for (int j = 0; j < l.size(0); ++j) seen.push_back(l[j].item<int64_t>());
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  a.set_epoch(2);
  b.set_epoch(1);
  EXPECT_FALSE(torch::equal(a.batch(0).labels, b.batch(0).labels));
  o.drop_last = true;
  EXPECT_EQ(TensorDataLoader(data, o).num_batches(), 2);
  EXPECT_THROW(TensorDataset(torch::zeros({3, 2}), torch::zeros({4})), std::invalid_argument);
}

}  // namespace
}  // namespace trainer
