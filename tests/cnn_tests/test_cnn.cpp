// Conv2d and MaxPool2d: output sizes and values against PyTorch, forward values by hand, gradient
// checks (dX, dW, db) in float and double over strides, paddings, channel counts, odd sizes and
// ceil_mode windows past the border, a small CNN end to end, and negative controls that must FAIL.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "eigennet/eigennet.hpp"
#include "support/random_data.hpp"

using namespace eigennet;
using eigennet_test::random_labels;
using eigennet_test::random_matrix;

namespace {

// ---- PyTorch reference (tests/reference/cnn_reference.txt, by make_cnn_reference.py) -------

struct Reference {
  std::map<std::string, std::map<std::string, Matrix<double>>> tensors;  // case → name → value
  std::map<std::string, std::map<std::string, long>> params;             // case → key → value
  std::vector<std::vector<long>> conv_sizes, pool_sizes;                 // the size tables
};

const Reference& reference() {
  static const Reference ref = [] {
    const char* dir = std::getenv("EIGENNET_REFERENCE_DIR");
    REQUIRE_MESSAGE(dir != nullptr, "EIGENNET_REFERENCE_DIR is not set (run through meson test)");
    const std::string path = std::string(dir) + "/cnn_reference.txt";
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot open " << path);
    Reference r;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream fields(line);
      std::string name, what;
      fields >> name;
      if (name == "convsize" || name == "poolsize") {
        std::vector<long> row;
        for (long v; fields >> v;) row.push_back(v);
        (name == "convsize" ? r.conv_sizes : r.pool_sizes).push_back(row);
        continue;
      }
      fields >> what;
      if (what == "params") {
        for (std::string kv; fields >> kv;) {
          const auto eq = kv.find('=');
          if (eq != std::string::npos && kv.find_first_not_of("0123456789", eq + 1) == std::string::npos)
            r.params[name][kv.substr(0, eq)] = std::stol(kv.substr(eq + 1));
        }
        continue;
      }
      Index rows = 0, cols = 0;
      fields >> rows >> cols;
      Matrix<double> m(rows, cols);
      for (Index i = 0; i < m.size(); ++i) fields >> m.data()[i];
      REQUIRE_MESSAGE(!fields.fail(), path << ": bad line for " << name << " " << what);
      r.tensors[name][what] = m;
    }
    REQUIRE(!r.tensors.empty());
    return r;
  }();
  return ref;
}

const Matrix<double>& ref_tensor(const std::string& c, const std::string& name) {
  const auto& cases = reference().tensors;
  REQUIRE_MESSAGE(cases.count(c) == 1, "no case " << c << " in cnn_reference.txt");
  REQUIRE_MESSAGE(cases.at(c).count(name) == 1, "no tensor " << name << " in case " << c);
  return cases.at(c).at(name);
}
long ref_param(const std::string& c, const std::string& key) { return reference().params.at(c).at(key); }

// Largest |a − b| relative to the largest |b| (≥ 1).
template <typename A, typename B>
double max_relative_difference(const A& a, const B& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  const Matrix<double> ad = a.template cast<double>(), bd = b.template cast<double>();
  return (ad - bd).cwiseAbs().maxCoeff() / std::max(1.0, bd.cwiseAbs().maxCoeff());
}

template <typename Scalar>
double value_tolerance() {
  return sizeof(Scalar) == 4 ? 2e-5 : 1e-10;  // the reference has 13 significant digits
}

// ---- helpers ---------------------------------------------------------------------------------

// Every entry distinct and at least 0.01 apart (a shuffled grid), so that a finite-difference
// step never changes which entry of a pooling window is the largest.
template <typename Scalar>
Matrix<Scalar> separated_matrix(Index rows, Index cols, std::uint32_t seed) {
  RandomState rng(seed);
  const std::vector<Index> order = rng.permutation(rows * cols);
  Matrix<Scalar> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = Scalar(0.01 * double(order[std::size_t(i)] - m.size() / 2));
  return m;
}

template <typename Scalar>
void randomize(Conv2d<Scalar>& conv, std::uint32_t seed) {
  RandomState rng(seed);
  rng.fill_normal(conv.weights(), 0.0, 0.5);
  rng.fill_normal(conv.bias(), 0.0, 0.5);
}

void require_pass(const GradcheckReport& report) {
  INFO(report.to_string());
  REQUIRE(!report.rows.empty());
  CHECK(report.passed());
}

const GradcheckRow& row_for(const GradcheckReport& report, const std::string& tensor) {
  for (const auto& row : report.rows)
    if (row.tensor == tensor) return row;
  FAIL("no row for tensor " << tensor);
  return report.rows.front();
}

}  // namespace

// ---- output sizes ----------------------------------------------------------------------------

TEST_CASE("output sizes of conv and pool equal PyTorch's over a grid (errors where PyTorch refuses)") {
  const auto& r = reference();
  REQUIRE(r.conv_sizes.size() > 100);
  REQUIRE(r.pool_sizes.size() > 200);
  Index checked = 0, refused = 0;
  for (const auto& row : r.conv_sizes) {  // H k s p out
    INFO("conv H=" << row[0] << " k=" << row[1] << " s=" << row[2] << " p=" << row[3]);
    if (row[4] < 0) {
      CHECK_THROWS_AS(conv_output_size(row[0], row[1], row[2], row[3], "conv"), std::invalid_argument);
      ++refused;
    } else {
      CHECK(conv_output_size(row[0], row[1], row[2], row[3], "conv") == row[4]);
    }
    ++checked;
  }
  for (const auto& row : r.pool_sizes) {  // H k s p ceil out
    INFO("pool H=" << row[0] << " k=" << row[1] << " s=" << row[2] << " p=" << row[3] << " ceil=" << row[4]);
    if (row[5] < 0) {
      CHECK_THROWS_AS(pool_output_size(row[0], row[1], row[2], row[3], row[4] != 0, "pool"), std::invalid_argument);
      ++refused;
    } else {
      CHECK(pool_output_size(row[0], row[1], row[2], row[3], row[4] != 0, "pool") == row[5]);
    }
    ++checked;
  }
  CHECK(refused > 0);
  CHECK(refused < checked);
  // The notebook's network: 28 → conv 5 → 24 → pool 2 (ceil) → 12; and a window past the border.
  CHECK(conv_output_size(28, 5, 1, 0, "conv") == 24);
  CHECK(pool_output_size(24, 2, 2, 0, true, "pool") == 12);
  CHECK(pool_output_size(7, 2, 2, 0, true, "pool") == 4);
  CHECK(pool_output_size(7, 2, 2, 0, false, "pool") == 3);
}

// ---- initialisation ----------------------------------------------------------------------------

TEST_CASE("initialize(conv2d): W (C_out, C_in·kh·kw) then b (C_out) in numpy's order; glorot and he draw no bias") {
  // Conv 2→3 channels, 3×3 kernel: W is 3×18, fan_in = 2·3·3 = 18, fan_out = 3·3·3 = 27.
  struct Case {
    InitOptions options;
    bool normal;        // normal(a, b), else uniform(a, b)
    double a, b;        // the weights' distribution
    bool bias_drawn;    // else zero
  };
  const double torch = 1.0 / std::sqrt(18.0), glorot = std::sqrt(6.0 / (18.0 + 27.0)), he = std::sqrt(2.0 / 18.0);
  const Case cases[] = {
      {{InitScheme::Normal, 0.1, 0.2}, true, 0.1, 0.2, true},
      {{InitScheme::Uniform, -0.3, 0.4}, false, -0.3, 0.4, true},
      {{InitScheme::TorchDefault}, false, -torch, torch, true},
      {{InitScheme::Glorot}, false, -glorot, glorot, false},
      {{InitScheme::He}, true, 0.0, he, false},
  };
  for (const Case& c : cases) {
    CAPTURE(init_scheme_name(c.options.scheme));
    Conv2d<double> conv({2, 5, 5}, 3, 3);
    conv.bias().setConstant(9);  // overwritten either way
    RandomState rng(17);
    initialize(conv, rng, c.options);

    RandomState expected_rng(17);
    Matrix<double> w(3, 18), b = Matrix<double>::Zero(3, 1);
    const auto fill = [&](Matrix<double>& m) {
      if (c.normal)
        expected_rng.fill_normal(m, c.a, c.b);
      else
        expected_rng.fill_uniform(m, c.a, c.b);
    };
    fill(w);
    if (c.bias_drawn) fill(b);
    CHECK(conv.weights() == w);
    CHECK(conv.bias() == b);
    // The same number of draws: both generators go on alike.
    CHECK(rng.standard_normal() == expected_rng.standard_normal());
    CHECK(rng.random_sample() == expected_rng.random_sample());
  }
}

// ---- forward values by hand ------------------------------------------------------------------

TEST_CASE_TEMPLATE("conv2d forward by hand: 1×3×3 image, 2×2 kernel, bias", Scalar, float, double) {
  // x = [1 2 3; 4 5 6; 7 8 9], W = [1 2; 3 4], b = 0.5:
  // y(0,0) = 1·1 + 2·2 + 3·4 + 4·5 + 0.5 = 37.5,  y(0,1) = 2 + 6 + 15 + 24 + 0.5 = 47.5,
  // y(1,0) = 4 + 10 + 21 + 32 + 0.5 = 67.5,      y(1,1) = 5 + 12 + 24 + 36 + 0.5 = 77.5.
  Conv2d<Scalar> conv({1, 3, 3}, 1, 2);
  CHECK(conv.output_shape() == ImageShape{1, 2, 2});
  conv.weights() << 1, 2, 3, 4;
  conv.bias() << Scalar(0.5);
  Matrix<Scalar> x(1, 9), y(1, 4);
  x << 1, 2, 3, 4, 5, 6, 7, 8, 9;
  conv.forward(x, y);
  Matrix<Scalar> expected(1, 4);
  expected << Scalar(37.5), Scalar(47.5), Scalar(67.5), Scalar(77.5);
  CHECK(y == expected);

  // Stride 2 and padding 1 with two output channels: W0 = [1 2; 3 4] as before, W1 = all ones,
  // b = (0, −1). The 4×4 padded image has zeros around x; windows start at rows/cols −1 and 1:
  //   channel 0: (−1,−1): 4·1 = 4;  (−1,1): 3·2 + 4·3 = 18;  (1,−1): 2·4 + 4·7 = 36;  (1,1): 5+12+24+36 = 77
  //   channel 1: sums of the windows − 1: 1−1 = 0;  2+3−1 = 4;  4+7−1 = 10;  5+6+8+9−1 = 27.
  Conv2d<Scalar> strided({1, 3, 3}, 2, 2, 2, 1);
  CHECK(strided.output_shape() == ImageShape{2, 2, 2});
  strided.weights() << 1, 2, 3, 4, 1, 1, 1, 1;
  strided.bias() << 0, -1;
  Matrix<Scalar> y2(1, 8), expected2(1, 8);
  strided.forward(x, y2);
  expected2 << 4, 18, 36, 77, 0, 4, 10, 27;
  CHECK(y2 == expected2);
}

TEST_CASE_TEMPLATE("maxpool2d forward and backward by hand: ceil_mode window past the border", Scalar, float,
                   double) {
  // x = [1 2 3; 4 5 6; 7 8 9], 2×2 windows, stride 2, ceil_mode: the windows are
  // {1,2,4,5}, {3,6}, {7,8}, {9} → y = [5 6; 8 9]; backward routes dy to those four positions.
  MaxPool2d<Scalar> pool({1, 3, 3}, 2, 2, 0, true);
  CHECK(pool.output_shape() == ImageShape{1, 2, 2});
  Matrix<Scalar> x(1, 9), y(1, 4), dy(1, 4), dx(1, 9);
  x << 1, 2, 3, 4, 5, 6, 7, 8, 9;
  pool.forward(x, y);
  Matrix<Scalar> expected(1, 4);
  expected << 5, 6, 8, 9;
  CHECK(y == expected);
  dy << 10, 20, 30, 40;
  pool.backward(x, y, dy, dx, true);
  Matrix<Scalar> expected_dx(1, 9);
  expected_dx << 0, 0, 0, 0, 10, 20, 0, 30, 40;
  CHECK(dx == expected_dx);

  // Overlapping windows (3×3, stride 1, padding 1) on a 1×2×2 image [4 1; 2 3]: every window
  // holds the 4, so all four gradients add up at position 0. Without ceil_mode, the same 3×3
  // image with stride 2 drops the partial last window: one output.
  MaxPool2d<Scalar> overlap({1, 2, 2}, 3, 1, 1, false);
  Matrix<Scalar> x2(1, 4), y2(1, 4), dx2(1, 4);
  x2 << 4, 1, 2, 3;
  overlap.forward(x2, y2);
  CHECK(y2 == Matrix<Scalar>::Constant(1, 4, 4));
  overlap.backward(x2, y2, dy, dx2, true);
  Matrix<Scalar> expected_dx2(1, 4);
  expected_dx2 << 100, 0, 0, 0;
  CHECK(dx2 == expected_dx2);
  CHECK(MaxPool2d<Scalar>({1, 3, 3}, 2, 2, 0, false).output_shape() == ImageShape{1, 1, 1});

  // Ties go to the first maximum in window order, as PyTorch.
  Matrix<Scalar> flat = Matrix<Scalar>::Constant(1, 9, 2);
  pool.forward(flat, y);
  CHECK(pool.argmax()(0, 0) == 0);
  CHECK(pool.argmax()(0, 1) == 2);
  CHECK(pool.argmax()(0, 2) == 6);
  CHECK(pool.argmax()(0, 3) == 8);
}

// ---- against PyTorch -------------------------------------------------------------------------

TEST_CASE_TEMPLATE("conv2d forward, dX, dW and db equal PyTorch's", Scalar, float, double) {
  for (const std::string c : {"conv-notebook", "conv-s2-p2", "conv-s1-p2", "conv-s3-p1", "conv-1x1"}) {
    CAPTURE(c);
    Conv2d<Scalar> conv({ref_param(c, "C"), ref_param(c, "H"), ref_param(c, "W")}, ref_param(c, "out"),
                        ref_param(c, "kh"), ref_param(c, "kw"), ref_param(c, "stride"), ref_param(c, "padding"));
    conv.weights() = ref_tensor(c, "W").cast<Scalar>();
    conv.bias() = ref_tensor(c, "b").cast<Scalar>();
    const Matrix<Scalar> x = ref_tensor(c, "x").cast<Scalar>();
    const Matrix<Scalar> dy = ref_tensor(c, "dy").cast<Scalar>();
    Matrix<Scalar> y(x.rows(), conv.output_size()), dx(x.rows(), conv.input_size());
    conv.forward(x, y);
    CHECK(max_relative_difference(y, ref_tensor(c, "y")) < value_tolerance<Scalar>());
    conv.backward(x, y, dy, dx, true);
    CHECK(max_relative_difference(dx, ref_tensor(c, "dx")) < value_tolerance<Scalar>());
    CHECK(max_relative_difference(conv.weights_gradient(), ref_tensor(c, "dW")) < value_tolerance<Scalar>());
    CHECK(max_relative_difference(conv.bias_gradient(), ref_tensor(c, "db")) < value_tolerance<Scalar>());
  }
}

TEST_CASE_TEMPLATE("maxpool2d forward and dX equal PyTorch's (ceil_mode, padding, overlap)", Scalar, float,
                   double) {
  for (const std::string c : {"pool-notebook", "pool-ceil-odd", "pool-k3-s2-p1-ceil", "pool-k3-s1-p1",
                              "pool-k3-s3-ceil", "pool-k2-s1-floor"}) {
    CAPTURE(c);
    MaxPool2d<Scalar> pool({ref_param(c, "C"), ref_param(c, "H"), ref_param(c, "W")}, ref_param(c, "kernel"),
                           ref_param(c, "stride"), ref_param(c, "padding"), ref_param(c, "ceil") != 0);
    const Matrix<Scalar> x = ref_tensor(c, "x").cast<Scalar>();
    const Matrix<Scalar> dy = ref_tensor(c, "dy").cast<Scalar>();
    Matrix<Scalar> y(x.rows(), pool.output_size()), dx(x.rows(), pool.input_size());
    pool.forward(x, y);
    CHECK(max_relative_difference(y, ref_tensor(c, "y")) < value_tolerance<Scalar>());
    pool.backward(x, y, dy, dx, true);
    CHECK(max_relative_difference(dx, ref_tensor(c, "dx")) < value_tolerance<Scalar>());
  }
}

TEST_CASE_TEMPLATE("conv → ReLU → pool → dense equals PyTorch's with flatten: the layout needs no Flatten layer",
                   Scalar, float, double) {
  const std::string c = "net-flatten";
  Network<Scalar> net;
  auto& conv = net.template emplace<Conv2d<Scalar>>(ImageShape{1, 11, 11}, 3, 3);
  net.template emplace<Relu<Scalar>>(conv.output_size());
  auto& pool = net.template emplace<MaxPool2d<Scalar>>(conv.output_shape(), 2, 2, 0, true);
  auto& dense = net.template emplace<Dense<Scalar>>(pool.output_size(), 4);
  REQUIRE(pool.output_size() == 75);
  conv.weights() = ref_tensor(c, "conv_W").cast<Scalar>();
  conv.bias() = ref_tensor(c, "conv_b").cast<Scalar>();
  dense.weights() = ref_tensor(c, "dense_W").cast<Scalar>();
  const Matrix<Scalar> x = ref_tensor(c, "x").cast<Scalar>();
  CHECK(max_relative_difference(Matrix<Scalar>(net.forward(x)), ref_tensor(c, "logits")) <
        10 * value_tolerance<Scalar>());
}

// ---- gradient checks -------------------------------------------------------------------------

struct ConvCase {
  ImageShape input;
  Index out_channels, kernel_h, kernel_w, stride, padding, batch;
};
const ConvCase conv_cases[] = {
    {{1, 5, 5}, 1, 3, 3, 1, 0, 1},   // one channel, one sample
    {{1, 7, 9}, 3, 3, 3, 1, 0, 2},   // odd sizes, stride 1, padding 0
    {{2, 7, 9}, 3, 3, 3, 2, 0, 2},   // stride 2, odd sizes (the last column/row unused)
    {{3, 6, 5}, 2, 3, 3, 1, 2, 3},   // padding 2
    {{3, 9, 7}, 4, 5, 3, 2, 2, 2},   // stride 2, padding 2, rectangular kernel
    {{4, 5, 5}, 5, 1, 1, 1, 0, 2},   // 1×1 kernel
    {{2, 8, 8}, 6, 4, 4, 3, 1, 2},   // stride 3, padding 1
    {{1, 12, 12}, 10, 5, 5, 1, 0, 2} // the notebook's kernel on a smaller image
};

// Float subjects are checked in double and held to the double backward: two rows per tensor.
template <typename Scalar>
constexpr std::size_t rows_per_tensor() {
  return std::is_same_v<Scalar, float> ? 2 : 1;
}

TEST_CASE_TEMPLATE("conv2d gradient check: dX, dW, db (strides 1/2/3, padding 0/1/2, channels, odd sizes)",
                   Scalar, float, double) {
  std::uint32_t seed = 100;
  for (const ConvCase& k : conv_cases) {
    Conv2d<Scalar> conv(k.input, k.out_channels, k.kernel_h, k.kernel_w, k.stride, k.padding);
    CAPTURE(conv.describe());
    randomize(conv, ++seed);
    const GradcheckReport report = check_layer<Scalar>(conv, k.batch);
    require_pass(report);
    CHECK(report.rows.size() == 3 * rows_per_tensor<Scalar>());  // W, b, X
    CHECK(row_for(report, "W").checked > 0);
    CHECK(row_for(report, "b").checked == k.out_channels);
  }
}

struct PoolCase {
  ImageShape input;
  Index kernel, stride, padding;
  bool ceil_mode;
};
const PoolCase pool_cases[] = {
    {{2, 6, 6}, 2, 2, 0, false},  // the notebook's pooling (even size: ceil_mode changes nothing)
    {{2, 6, 6}, 2, 2, 0, true},
    {{3, 7, 9}, 2, 2, 0, true},   // odd sizes: the last windows run past the border
    {{2, 9, 10}, 3, 2, 1, true},  // padding 1 and ceil_mode
    {{2, 8, 7}, 3, 1, 1, false},  // overlapping windows: gradients add up
    {{1, 5, 7}, 3, 3, 0, true},   // partial windows of one column
    {{3, 5, 5}, 2, 1, 0, false},  // stride 1
    {{1, 4, 4}, 4, 1, 2, true},   // padding 2 = kernel/2
};

TEST_CASE_TEMPLATE("maxpool2d gradient check: dX (ceil_mode past the border, padding, overlap)", Scalar, float,
                   double) {
  std::uint32_t seed = 200;
  for (const PoolCase& k : pool_cases) {
    MaxPool2d<Scalar> pool(k.input, k.kernel, k.stride, k.padding, k.ceil_mode);
    CAPTURE(pool.describe());
    const Matrix<Scalar> x = separated_matrix<Scalar>(2, pool.input_size(), ++seed);
    const GradcheckReport report = check_layer<Scalar>(pool, x);
    require_pass(report);
    CHECK(report.rows.size() == rows_per_tensor<Scalar>());  // X only: no parameters
  }
}

TEST_CASE_TEMPLATE("small CNN under softmax cross-entropy: every parameter and dL/dX (check_network)", Scalar, float,
                   double) {
  // conv 1×11×9 → 4×11×9 (3×3, pad 1) → ReLU → pool 2 ceil → 4×6×5 → conv 4→6 (3×3, stride 2,
  // pad 2) → 6×4×4 → ReLU → pool 3 stride 2 ceil → 6×2×2 → dense 24→5.
  Network<Scalar> net;
  auto& conv1 = net.template emplace<Conv2d<Scalar>>(ImageShape{1, 11, 9}, 4, 3, 1, 1);
  net.template emplace<Relu<Scalar>>(conv1.output_size());
  auto& pool1 = net.template emplace<MaxPool2d<Scalar>>(conv1.output_shape(), 2, 2, 0, true);
  auto& conv2 = net.template emplace<Conv2d<Scalar>>(pool1.output_shape(), 6, 3, 2, 2);
  net.template emplace<Relu<Scalar>>(conv2.output_size());
  auto& pool2 = net.template emplace<MaxPool2d<Scalar>>(conv2.output_shape(), 3, 2, 0, true);
  auto& dense = net.template emplace<Dense<Scalar>>(pool2.output_size(), 5);
  CHECK(pool1.output_shape() == ImageShape{4, 6, 5});
  CHECK(conv2.output_shape() == ImageShape{6, 4, 4});
  CHECK(pool2.output_shape() == ImageShape{6, 2, 2});
  randomize(conv1, 31);
  randomize(conv2, 32);
  RandomState rng(33);
  initialize(dense, rng, {InitScheme::Normal, 0, 0.3});
  const Matrix<Scalar> x = random_matrix<Scalar>(3, conv1.input_size(), 34);
  const GradcheckReport report = check_network<Scalar>(net, x, random_labels(3, 5, 35), SoftmaxCrossEntropy<Scalar>());
  require_pass(report);
  CHECK(report.rows.size() == 6 * rows_per_tensor<Scalar>());  // conv1 W, b, conv2 W, b, dense W, X
  CHECK(row_for(report, "layer0.conv2d.W").passed);
  CHECK(row_for(report, "layer3.conv2d.b").passed);
}

// ---- negative controls -----------------------------------------------------------------------

namespace {

// A conv whose backward carries a planted bug; forward is the real one.
enum class Plant { FlippedKernelInDw, DxIgnoresPadding, BiasGradientNotSummedOverSamples };

template <typename Scalar>
class PlantedConv final : public Layer<Scalar> {
 public:
  PlantedConv(Conv2d<Scalar>& conv, Plant plant) : conv_(conv), plant_(plant) {}
  std::string kind() const override { return "planted"; }
  std::string describe() const override { return "planted " + conv_.describe(); }
  Index input_size() const override { return conv_.input_size(); }
  Index output_size() const override { return conv_.output_size(); }
  void forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) override { conv_.forward(x, y); }
  void backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy, MatrixRef<Scalar> dx,
                bool compute_input_gradient) override {
    conv_.backward(x, y, dy, dx, compute_input_gradient);
    gradient_ = conv_.weights_gradient();
    bias_gradient_ = conv_.bias_gradient();
    const Index kh = conv_.kernel_h(), kw = conv_.kernel_w();
    if (plant_ == Plant::FlippedKernelInDw) {  // convolution instead of correlation
      const Matrix<Scalar> right = gradient_;
      for (Index o = 0; o < right.rows(); ++o)
        for (Index c = 0; c < right.cols() / (kh * kw); ++c)
          for (Index u = 0; u < kh; ++u)
            for (Index v = 0; v < kw; ++v)
              gradient_(o, (c * kh + u) * kw + v) = right(o, (c * kh + kh - 1 - u) * kw + kw - 1 - v);
    } else if (plant_ == Plant::DxIgnoresPadding && compute_input_gradient) {
      // As if col2im dropped the contributions of the windows that touch the padding: zero the
      // gradient of the input's border pixels.
      const ImageShape s = conv_.input_shape();
      for (Index n = 0; n < dx.rows(); ++n)
        for (Index c = 0; c < s.channels; ++c)
          for (Index h = 0; h < s.height; ++h)
            for (Index w = 0; w < s.width; ++w)
              if (h == 0 || w == 0 || h == s.height - 1 || w == s.width - 1) dx(n, (c * s.height + h) * s.width + w) = 0;
    } else if (plant_ == Plant::BiasGradientNotSummedOverSamples) {
      bias_gradient_.setZero();  // only the first sample's share
      for (Index o = 0; o < bias_gradient_.rows(); ++o)
        bias_gradient_(o, 0) = dy.row(0).segment(o * conv_.output_shape().plane(), conv_.output_shape().plane()).sum();
    }
  }
  ParameterList<Scalar> parameters() override {
    return {{"W", &conv_.weights(), &gradient_}, {"b", &conv_.bias(), &bias_gradient_}};
  }

 private:
  Conv2d<Scalar>& conv_;
  Plant plant_;
  Matrix<Scalar> gradient_, bias_gradient_;
};

}  // namespace

TEST_CASE_TEMPLATE("negative controls: a conv backward planted wrong FAILS the checker", Scalar, float, double) {
  Conv2d<Scalar> conv({2, 7, 6}, 3, 3, 3, 1, 2);
  randomize(conv, 41);
  {
    PlantedConv<Scalar> planted(conv, Plant::FlippedKernelInDw);
    const GradcheckReport report = check_layer<Scalar>(planted, 2);
    INFO(report.to_string());
    CHECK_FALSE(report.passed());
    CHECK_FALSE(row_for(report, "W").passed);
    CHECK(row_for(report, "b").passed);
    CHECK(row_for(report, "X").passed);
  }
  {
    PlantedConv<Scalar> planted(conv, Plant::DxIgnoresPadding);
    const GradcheckReport report = check_layer<Scalar>(planted, 2);
    INFO(report.to_string());
    CHECK_FALSE(report.passed());
    CHECK_FALSE(row_for(report, "X").passed);
    CHECK(row_for(report, "W").passed);
  }
  {
    PlantedConv<Scalar> planted(conv, Plant::BiasGradientNotSummedOverSamples);
    const GradcheckReport report = check_layer<Scalar>(planted, 3);
    INFO(report.to_string());
    CHECK_FALSE(report.passed());
    CHECK_FALSE(row_for(report, "b").passed);
  }
  // The same layer, unplanted, passes: the failures above are the plants'.
  require_pass(check_layer<Scalar>(conv, 2));
}

TEST_CASE("negative control: a pool that routes to the window's first pixel FAILS the checker") {
  // Wraps the real pool and moves each gradient to the first pixel of its window instead of the
  // arg-max; only the routing is wrong, the forward is right.
  struct FirstPixelPool final : Layer<double> {
    MaxPool2d<double> pool{{2, 6, 7}, 2, 2, 0, true};
    std::string kind() const override { return "planted"; }
    std::string describe() const override { return "planted " + pool.describe(); }
    Index input_size() const override { return pool.input_size(); }
    Index output_size() const override { return pool.output_size(); }
    void forward(ConstMatrixRef<double> x, MatrixRef<double> y) override { pool.forward(x, y); }
    void backward(ConstMatrixRef<double>, ConstMatrixRef<double>, ConstMatrixRef<double> dy, MatrixRef<double> dx,
                  bool) override {
      const ImageShape in = pool.input_shape(), out = pool.output_shape();
      dx.setZero();
      for (Index n = 0; n < dy.rows(); ++n)
        for (Index c = 0; c < out.channels; ++c)
          for (Index i = 0; i < out.height; ++i)
            for (Index j = 0; j < out.width; ++j)
              dx(n, (c * in.height + 2 * i) * in.width + 2 * j) += dy(n, (c * out.height + i) * out.width + j);
    }
  } planted;
  const Matrix<double> x = separated_matrix<double>(2, planted.input_size(), 51);
  const GradcheckReport report = check_layer<double>(planted, x);
  INFO(report.to_string());
  CHECK_FALSE(report.passed());
  require_pass(check_layer<double>(planted.pool, x));
}

// ---- behaviour -------------------------------------------------------------------------------

TEST_CASE_TEMPLATE("conv2d: a batch equals its samples one by one; 1 or 2 threads give identical results; backward overwrites", Scalar,
                   float, double) {
  Conv2d<Scalar> conv({3, 12, 10}, 8, 3, 3, 1, 1);
  randomize(conv, 61);
  const Index n = 16;
  const Matrix<Scalar> x = random_matrix<Scalar>(n, conv.input_size(), 62);
  const Matrix<Scalar> dy = random_matrix<Scalar>(n, conv.output_size(), 63);
  Matrix<Scalar> y(n, conv.output_size()), dx(n, conv.input_size());
  const ThreadCountScope restore_threads(thread_count());

  set_thread_count(1);
  conv.forward(x, y);
  conv.backward(x, y, dy, dx, true);
  const Matrix<Scalar> y1 = y, dx1 = dx, dw1 = conv.weights_gradient(), db1 = conv.bias_gradient();

  set_thread_count(2);
  conv.forward(x, y);
  CHECK(y == y1);  // per-sample products do not depend on the thread count
  conv.backward(x, y, dy, dx, true);
  CHECK(dx == dx1);
  CHECK(conv.weights_gradient() == dw1);  // summed per fixed chunk of samples, whatever the threads
  CHECK(conv.bias_gradient() == db1);
  conv.backward(x, y, dy, dx, true);  // a second call overwrites, never accumulates
  CHECK(conv.weights_gradient() == dw1);

  Matrix<Scalar> y_one(1, conv.output_size());
  for (Index i : {Index(0), Index(7), n - 1}) {
    conv.forward(x.row(i), y_one);
    CHECK(y_one == y1.row(i));
  }
}

// Above kWeightChunks (8) samples, Conv2d's dW is summed per fixed chunk of consecutive samples
// (17 samples: chunks of 2 or 3) and then over the chunks; the other tests run batches ≤ 3 or 16.
// At batch 17: a gradient check in double, and the batch backward against its samples one by one
// (dW and db the sums of the per-sample gradients, dX the per-sample dX stacked), on 1 and 2
// threads.
TEST_CASE("conv2d at batch 17 (chunked dW sum): gradient check in double") {
  Conv2d<double> conv({2, 6, 5}, 3, 3, 3, 1, 1);
  randomize(conv, 71);
  const GradcheckReport report = check_layer<double>(conv, 17);
  require_pass(report);
  CHECK(row_for(report, "W").checked > 0);
  CHECK(row_for(report, "b").checked == 3);
}

TEST_CASE_TEMPLATE("conv2d at batch 17: backward dW, db are the sums of the per-sample backwards, dX their stack",
                   Scalar, float, double) {
  Conv2d<Scalar> conv({3, 7, 6}, 4, 3, 3, 2, 1);
  randomize(conv, 72);
  const Index n = 17;
  const Matrix<Scalar> x = random_matrix<Scalar>(n, conv.input_size(), 73);
  const Matrix<Scalar> dy = random_matrix<Scalar>(n, conv.output_size(), 74);
  Matrix<Scalar> y(n, conv.output_size()), dx(n, conv.input_size());
  const ThreadCountScope restore_threads(thread_count());

  // References: one sample at a time, gradients summed here in double.
  Matrix<double> dw_sum = Matrix<double>::Zero(conv.weights().rows(), conv.weights().cols());
  Matrix<double> db_sum = Matrix<double>::Zero(conv.bias().rows(), conv.bias().cols());
  Matrix<Scalar> dx_stacked(n, conv.input_size());
  Matrix<Scalar> y_one(1, conv.output_size()), dx_one(1, conv.input_size());
  for (Index i = 0; i < n; ++i) {
    conv.forward(x.row(i), y_one);
    conv.backward(x.row(i), y_one, dy.row(i), dx_one, true);
    dw_sum += conv.weights_gradient().template cast<double>();
    db_sum += conv.bias_gradient().template cast<double>();
    dx_stacked.row(i) = dx_one;
  }

  const double tol = std::is_same_v<Scalar, float> ? 1e-5 : 1e-12;
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    set_thread_count(threads);
    conv.forward(x, y);
    conv.backward(x, y, dy, dx, true);
    CHECK(max_relative_difference(conv.weights_gradient(), dw_sum) <= tol);
    CHECK(max_relative_difference(conv.bias_gradient(), db_sum) <= tol);
    CHECK(max_relative_difference(dx, dx_stacked) <= tol);  // per sample: no sum across samples
  }
}

TEST_CASE("shapes are checked when the network is built; errors name the layer and both shapes") {
  Network<float> net;
  auto& conv = net.emplace<Conv2d<float>>(ImageShape{1, 28, 28}, 10, 5);
  CHECK(conv.describe() == "conv2d 1×28×28→10×24×24 (5×5, stride 1, pad 0, +bias)");
  // A pool that expects 12 channels after a conv that gives 10.
  try {
    net.emplace<MaxPool2d<float>>(ImageShape{12, 24, 24}, 2, 2, 0, true);
    FAIL("adding a mismatched pool did not throw");
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(message.find("layer 1") != std::string::npos);
    CHECK(message.find("12×24×24") != std::string::npos);  // what the pool takes
    CHECK(message.find("10×24×24") != std::string::npos);  // what the conv gives
  }
  auto& pool = net.emplace<MaxPool2d<float>>(conv.output_shape(), 2, 2, 0, true);
  CHECK(pool.describe() == "maxpool2d 10×24×24→10×12×12 (2×2, stride 2, pad 0, ceil)");
  CHECK_THROWS_AS(net.emplace<Dense<float>>(1000, 10), std::invalid_argument);
  net.emplace<Dense<float>>(1440, 10);
  CHECK(net.parameter_count() == 10 * 25 + 10 + 1441 * 10);

  // Impossible configurations name the layer and the numbers.
  auto message_of = [](auto make) -> std::string {
    try {
      make();
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no exception";
  };
  const std::string big_kernel = message_of([] { Conv2d<float>({1, 4, 4}, 2, 5); });
  CHECK(big_kernel.find("conv2d on 1×4×4") != std::string::npos);
  CHECK(big_kernel.find("kernel 5") != std::string::npos);
  const std::string big_pad = message_of([] { MaxPool2d<float>({1, 8, 8}, 2, 2, 2); });
  CHECK(big_pad.find("maxpool2d on 1×8×8") != std::string::npos);
  CHECK(big_pad.find("padding 2") != std::string::npos);
  CHECK(message_of([] { Conv2d<float>({0, 4, 4}, 2, 3); }).find("positive") != std::string::npos);
  CHECK(message_of([] { Conv2d<float>({1, 4, 4}, 2, 3, 0); }).find("stride 0") != std::string::npos);

  // A batch of the wrong width at forward time.
  Conv2d<double> layer({1, 5, 5}, 2, 3);
  Matrix<double> x(2, 24), y(2, layer.output_size());
  const std::string wrong_input = message_of([&] { layer.forward(x, y); });
  CHECK(wrong_input.find("conv2d 1×5×5→2×3×3") != std::string::npos);
  CHECK(wrong_input.find("2×24") != std::string::npos);
}

TEST_CASE("maxpool2d: backward without a forward on the same batch is an error, not garbage") {
  MaxPool2d<double> pool({1, 4, 4}, 2);
  Matrix<double> x = Matrix<double>::Random(3, 16), y(3, 4), dy(3, 4), dx(3, 16);
  Matrix<double> x2 = Matrix<double>::Random(2, 16), y2(2, 4), dy2(2, 4), dx2(2, 16);
  pool.forward(x, y);
  CHECK_THROWS_AS(pool.backward(x2, y2, dy2, dx2, true), std::logic_error);
  // NaN propagates as in PyTorch (max of a window holding a NaN is NaN).
  x(0, 5) = std::nan("");
  pool.forward(x, y);
  CHECK(std::isnan(y(0, 0)));
  CHECK(!std::isnan(y(0, 1)));
}
