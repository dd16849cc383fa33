// Checkpoints: parameters saved by name, restored with every name and shape checked.
#include <doctest/doctest.h>

#include <limits>

#include "eigennet/data/checkpoint.hpp"
#include "test_util.hpp"

using namespace eigennet;
using namespace eigennet_test;

namespace {

// A stand-in for a network's parameters: a weight and a bias, filled with distinct values.
template <typename Scalar>
struct TinyModel {
  Matrix<Scalar> W, b, dW, db;
  TinyModel(Index in, Index out, Scalar offset) : W(in, out), b(1, out), dW(in, out), db(1, out) {
    for (Index i = 0; i < W.size(); ++i) W.data()[i] = offset + Scalar(i) / Scalar(8);
    for (Index i = 0; i < b.size(); ++i) b.data()[i] = -offset - Scalar(i);
  }
  ParameterList<Scalar> parameters() {
    return {{"layer0.dense.W", &W, &dW}, {"layer0.dense.b", &b, &db}};
  }
};

}  // namespace

TEST_CASE_TEMPLATE("checkpoint round trip restores every parameter", Scalar, float, double) {
  TempDir dir;
  const std::string path = dir.file("model.npz");
  TinyModel<Scalar> saved(4, 3, Scalar(1));
  save_checkpoint(saved.parameters(), path);

  TinyModel<Scalar> loaded(4, 3, Scalar(100));
  auto params = loaded.parameters();
  load_checkpoint(params, path);
  CHECK(loaded.W == saved.W);
  CHECK(loaded.b == saved.b);
}

TEST_CASE("numpy reads a checkpoint by parameter name") {
  TempDir dir;
  const std::string path = dir.file("model.npz");
  TinyModel<float> model(4, 3, 1.0f);
  save_checkpoint(model.parameters(), path);
  run_python_ok(dir, "d = np.load(r'" + path + R"(')
assert d.files == ['layer0.dense.W', 'layer0.dense.b'], d.files
W = d['layer0.dense.W']
assert W.shape == (4, 3) and W.dtype == np.float32
assert W.sum() == 12 + 66 / 8, W.sum()
assert (d['layer0.dense.b'] == [[-1, -2, -3]]).all()
)");
}

TEST_CASE("checkpoint errors name the parameter, both shapes and the file") {
  TempDir dir;
  const std::string path = dir.file("model.npz");
  TinyModel<float> saved(4, 3, 1.0f);
  save_checkpoint(saved.parameters(), path);

  SUBCASE("shape mismatch, parameters untouched") {
    TinyModel<float> other(3, 4, 50.0f);
    const Matrix<float> before = other.W;
    auto params = other.parameters();
    const std::string msg = message_of<DataError>([&] { load_checkpoint(params, path); });
    INFO(msg);
    CHECK(contains(msg, path + ": parameter 'layer0.dense.W': expected shape 3×4, found 4×3"));
    CHECK(other.W == before);
  }
  SUBCASE("a parameter missing from the file") {
    TinyModel<float> other(4, 3, 0.0f);
    Matrix<float> extra(2, 2), grad(2, 2);
    auto params = other.parameters();
    params.push_back({"layer1.dense.W", &extra, &grad});
    const std::string msg = message_of<DataError>([&] { load_checkpoint(params, path); });
    INFO(msg);
    CHECK(contains(msg, path + ": no array for parameter 'layer1.dense.W' (expected shape 2×2)"));
    CHECK(contains(msg, "layer0.dense.W, layer0.dense.b"));
  }
  SUBCASE("extra arrays in the file") {
    TinyModel<float> other(4, 3, 0.0f);
    auto params = other.parameters();
    params.pop_back();
    const std::string msg = message_of<DataError>([&] { load_checkpoint(params, path); });
    INFO(msg);
    CHECK(contains(msg, path + ": arrays not in the model: layer0.dense.b"));
  }
  SUBCASE("a 1-D array never matches a matrix parameter") {
    const std::string flat = dir.file("flat.npz");
    NpzWriter writer;
    writer.add("layer0.dense.W", saved.W);
    writer.add_1d("layer0.dense.b", saved.b);
    writer.save(flat);
    TinyModel<float> other(4, 3, 0.0f);
    auto params = other.parameters();
    const std::string msg = message_of<DataError>([&] { load_checkpoint(params, flat); });
    INFO(msg);
    CHECK(contains(msg, flat + ": parameter 'layer0.dense.b': expected shape 1×3, found (3,) (1-D)"));
  }
}

TEST_CASE("a float64 checkpoint loads into a float32 model, rounding each value") {
  TempDir dir;
  const std::string path = dir.file("model64.npz");
  TinyModel<double> saved(4, 3, 0.1);  // 0.1 + i/8: not representable in float
  save_checkpoint(saved.parameters(), path);

  TinyModel<float> model(4, 3, 0.0f);
  auto params = model.parameters();
  load_checkpoint(params, path);
  CHECK(model.W == saved.W.cast<float>());
  CHECK(model.b == saved.b.cast<float>());

  // And float32 into float64 is exact.
  const std::string path32 = dir.file("model32.npz");
  save_checkpoint(model.parameters(), path32);
  TinyModel<double> wide(4, 3, 0.0);
  auto wide_params = wide.parameters();
  load_checkpoint(wide_params, path32);
  CHECK(wide.W == model.W.cast<double>());
}

TEST_CASE("a checkpoint with NaN or infinity is refused, naming the tensor and the count") {
  TempDir dir;
  const std::string path = dir.file("diverged.npz");
  TinyModel<double> saved(4, 3, 1.0);
  saved.W(0, 0) = std::numeric_limits<double>::quiet_NaN();
  saved.W(2, 1) = std::numeric_limits<double>::infinity();
  saved.W(3, 2) = -std::numeric_limits<double>::quiet_NaN();
  save_checkpoint(saved.parameters(), path);

  TinyModel<double> model(4, 3, 5.0);
  const TinyModel<double> before = model;
  auto params = model.parameters();
  const std::string msg = message_of<DataError>([&] { load_checkpoint(params, path); });
  INFO(msg);
  CHECK(contains(msg, path + ": parameter 'layer0.dense.W': 3 of 12 entries are not finite (NaN or infinity)"));
  CHECK(model.W == before.W);
  CHECK(model.b == before.b);

  SUBCASE("float64 values beyond float's range count in a float model") {
    TinyModel<double> large(4, 3, 1.0);
    large.b(0, 1) = 1e300;
    save_checkpoint(large.parameters(), path);
    TinyModel<float> small(4, 3, 5.0f);
    auto small_params = small.parameters();
    const std::string overflow = message_of<DataError>([&] { load_checkpoint(small_params, path); });
    CHECK(contains(overflow, path + ": parameter 'layer0.dense.b': 1 of 3 entries are not finite"));
    TinyModel<double> wide(4, 3, 5.0);
    auto wide_params = wide.parameters();
    load_checkpoint(wide_params, path);  // exact in a double model
    CHECK(wide.b(0, 1) == 1e300);
  }
}
