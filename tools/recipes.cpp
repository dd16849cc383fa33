// The recipe registry and the three MLP recipes (notebook-mlp, exercise-mlp, practical-mlp).
#include "recipes.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "eigennet/layers/dense.hpp"
#include "eigennet/layers/log_softmax.hpp"
#include "eigennet/layers/relu.hpp"
#include "eigennet/layers/sigmoid.hpp"
#include "eigennet/layers/tanh.hpp"

namespace eigennet::tools {

// ---- registry --------------------------------------------------------------------------------

namespace {

std::vector<Recipe>& registry() {
  static std::vector<Recipe> all;
  return all;
}

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

}  // namespace

void register_recipe(Recipe recipe) {
  for (const Recipe& r : registry())
    if (r.name == recipe.name) throw std::invalid_argument("recipe '" + recipe.name + "' is registered twice");
  if (!recipe.build_float || !recipe.build_double)
    throw std::invalid_argument("recipe '" + recipe.name + "' has no build function");
  registry().push_back(std::move(recipe));
}

const std::vector<Recipe>& recipes() {
  static const bool registered = [] {
    register_mlp_recipes();
    register_cnn_recipes();
    return true;
  }();
  (void)registered;
  return registry();
}

const Recipe& find_recipe(const std::string& name) {
  std::string known;
  for (const Recipe& r : recipes()) {
    if (r.name == name) return r;
    known += (known.empty() ? "" : ", ") + r.name;
  }
  throw std::invalid_argument("unknown recipe '" + name + "' (known: " + known + ")");
}

std::string setting_flag(Setting setting) {
  switch (setting) {
    case Setting::Hidden: return "--hidden";
    case Setting::Activation: return "--activation";
  }
  return "?";
}

void require_takes(const Recipe& recipe, Setting setting) {
  if (recipe.reads(setting)) return;
  std::string takers;
  for (const Recipe& r : recipes())
    if (r.reads(setting)) takers += (takers.empty() ? "" : ", ") + r.name;
  throw std::invalid_argument("recipe '" + recipe.name + "' does not take " + setting_flag(setting) +
                              " (its network is fixed; " + setting_flag(setting) + " is for " + takers + ")");
}

// ---- helpers ---------------------------------------------------------------------------------

template <typename Scalar>
LayerPtr<Scalar> make_activation(const std::string& name, Index size) {
  if (name == "relu") return std::make_unique<Relu<Scalar>>(size);
  if (name == "sigmoid") return std::make_unique<Sigmoid<Scalar>>(size);
  if (name == "tanh") return std::make_unique<Tanh<Scalar>>(size);
  throw std::invalid_argument("unknown activation '" + name + "' (expected relu, sigmoid or tanh)");
}

template <typename Scalar>
Network<Scalar> build_mlp(const Settings& settings, RandomState& rng, Index inputs, Index classes) {
  Network<Scalar> net;
  Index width = inputs;
  for (Index hidden : settings.hidden) {
    if (hidden < 1) throw std::invalid_argument("hidden layer width must be ≥ 1, got " + std::to_string(hidden));
    initialize(net.template emplace<Dense<Scalar>>(width, hidden), rng, settings.init);
    net.add(make_activation<Scalar>(settings.activation, hidden));
    width = hidden;
  }
  initialize(net.template emplace<Dense<Scalar>>(width, classes), rng, settings.init);
  return net;
}

template <typename Scalar>
std::unique_ptr<Optimizer<Scalar>> make_optimizer(const Settings& settings, Network<Scalar>& network) {
  if (settings.optimizer == "sgd") return std::make_unique<Sgd<Scalar>>(network.parameters(), settings.learning_rate);
  if (settings.optimizer == "momentum")
    return std::make_unique<Momentum<Scalar>>(network.parameters(), settings.learning_rate, 0.9);
  if (settings.optimizer == "adam") return std::make_unique<Adam<Scalar>>(network.parameters(), settings.learning_rate);
  throw std::invalid_argument("unknown optimizer '" + settings.optimizer + "' (expected sgd, momentum or adam)");
}

const std::vector<std::string>& normalization_names() {
  static const std::vector<std::string> names = {"whole-set", "fixed", "per-batch", "unit"};
  return names;
}

template <typename Scalar>
ByteRows<Scalar> prepare_inputs(const PixelMatrix& pixels, const Settings& settings) {
  const auto& names = normalization_names();
  if (std::find(names.begin(), names.end(), settings.normalization) == names.end())
    throw std::invalid_argument("unknown normalization '" + settings.normalization +
                                "' (expected whole-set, fixed, per-batch or unit)");
  if (settings.normalization == "whole-set")
    return unit_scale_rows<Scalar>(pixels, unit_scale_normalization<Scalar>(pixels));
  if (settings.normalization == "fixed") return unit_scale_rows<Scalar>(pixels, settings.fixed_normalization);
  return unit_scale_rows<Scalar>(pixels);  // "unit"; "per-batch" happens batch by batch
}

BatchRule parse_batch_rule(const std::string& name) {
  if (name == "random") return BatchRule::WithReplacement;
  if (name == "first") return BatchRule::FirstB;
  if (name == "shuffle") return BatchRule::ShuffledEpochs;
  throw std::invalid_argument("unknown batch rule '" + name + "' (expected random, first or shuffle)");
}

std::string batch_rule_name(BatchRule rule) {
  switch (rule) {
    case BatchRule::WithReplacement: return "random";
    case BatchRule::FirstB: return "first";
    case BatchRule::ShuffledEpochs: return "shuffle";
  }
  return "?";
}

InitOptions parse_init(const std::string& text) {
  const std::size_t colon = text.find(':');
  const std::string name = text.substr(0, colon);
  InitOptions init;
  init.scheme = parse_init_scheme(name);
  if (init.scheme == InitScheme::Normal) init.a = 0.0, init.b = 0.01;
  if (init.scheme == InitScheme::Uniform) init.a = -0.5, init.b = 0.5;
  if (colon == std::string::npos) return init;
  if (init.scheme != InitScheme::Normal && init.scheme != InitScheme::Uniform)
    throw std::invalid_argument("initialisation '" + name + "' takes no parameters (got '" + text + "')");
  const std::string numbers = text.substr(colon + 1);
  const std::size_t comma = numbers.find(',');
  try {
    if (comma == std::string::npos) throw std::invalid_argument(numbers);
    std::size_t used_a = 0, used_b = 0;
    init.a = std::stod(numbers.substr(0, comma), &used_a);
    init.b = std::stod(numbers.substr(comma + 1), &used_b);
    if (used_a != comma || used_b != numbers.size() - comma - 1) throw std::invalid_argument(numbers);
  } catch (const std::exception&) {
    throw std::invalid_argument("initialisation '" + text + "': expected " + name + ":A,B with two numbers (" +
                                (name == "normal" ? "mean,std" : "low,high") + ")");
  }
  return init;
}

std::string init_text(const InitOptions& init) {
  const std::string name = init_scheme_name(init.scheme);
  if (init.scheme == InitScheme::Normal || init.scheme == InitScheme::Uniform)
    return name + "(" + number_text(init.a) + ", " + number_text(init.b) + ")";
  return name;
}

template <typename Scalar>
std::string architecture_text(const Network<Scalar>& network) {
  std::string text = std::to_string(network.input_size());
  for (Index i = 0; i < network.layer_count(); ++i) {
    const Layer<Scalar>& layer = network.layer(i);
    if (layer.kind() == "dense")
      text += "→" + std::to_string(layer.output_size());
    else if (layer.kind() == "conv2d" || layer.kind() == "maxpool2d")
      text += "→" + layer.kind() + " " + std::to_string(layer.output_size());
    else
      text += " " + layer.kind();  // an activation: same width
  }
  return text;
}

template <typename Scalar>
std::string describe_settings(const Recipe& recipe, const Settings& s, const Network<Scalar>& network) {
  std::ostringstream out;
  out << recipe.name << ": " << dtype_name(s.dtype) << ", " << architecture_text(network);
  out << ", init " << init_text(s.init) << " seed " << s.seed << ", " << s.optimizer << " lr "
      << number_text(s.learning_rate) << ", batch " << s.batch_size << " (" << batch_rule_name(s.batch_rule) << "), ";
  if (s.iterations > 0)
    out << s.iterations << " iterations, "
        << (s.test_every > 0 ? "test every " + std::to_string(s.test_every) : std::string("test after the last"));
  else
    out << s.epochs << " epochs";
  out << ", normalization " << s.normalization;
  if (s.normalization == "fixed")
    out << " (" << number_text(s.fixed_normalization.mean) << ", " << number_text(s.fixed_normalization.std) << ")";
  if (s.val_fraction > 0) out << ", validation " << number_text(s.val_fraction * 100) << "%";
  return out.str();
}

// ---- the MLP recipes -------------------------------------------------------------------------

Settings notebook_procedure() {
  Settings s;
  s.init = {InitScheme::Normal, 0.0, 0.01};
  s.seed = 42;
  s.optimizer = "sgd";
  s.learning_rate = 1e-2;
  s.batch_size = 40;
  s.iterations = 400;
  s.test_every = 10;
  s.normalization = "whole-set";
  s.batch_rule = BatchRule::WithReplacement;
  return s;
}

Settings pytorch_procedure() {
  Settings s;
  s.dtype = Dtype::Float;
  s.init = {InitScheme::TorchDefault, 0.0, 0.0};
  s.seed = 0;
  s.normalization = "fixed";
  s.fixed_normalization = kMnistNormalization;
  s.batch_rule = BatchRule::ShuffledEpochs;
  return s;
}

void register_mlp_recipes() {
  // The notebook's MLP, step by step as the notebook runs it.
  Settings notebook = notebook_procedure();
  notebook.dtype = Dtype::Double;
  notebook.hidden = {1000};
  notebook.activation = "relu";
  register_recipe(make_recipe(
      "notebook-mlp",
      "the notebook's MLP: 784→1000 ReLU→10 softmax, float64, weights normal(0, 0.01) from RandomState(42) "
      "(W1 785×1000, then W2 1001×10), cross-entropy with eps 1e-7, gradient (P−Y)/N, whole-set normalisation, "
      "SGD lr 0.01, batch 40 by randint(0, 60000, 40), 400 iterations, test every 10",
      notebook, {Setting::Hidden, Setting::Activation}, [](auto tag, const Settings& s, RandomState& rng) {
        using Scalar = decltype(tag);
        Model<Scalar> m;
        m.network = build_mlp<Scalar>(s, rng, 784, 10);
        // Logits out; softmax, the loss −mean Σ y log(p + 1e-7) and the gradient (P − Y)/N fused.
        m.loss = std::make_unique<SoftmaxCrossEntropy<Scalar>>(1e-7);
        m.optimizer = make_optimizer<Scalar>(s, m.network);
        return m;
      }));

  // The exercise's small MLP.
  Settings exercise;
  exercise.dtype = Dtype::Double;
  exercise.hidden = {16, 16};
  exercise.activation = "relu";
  exercise.init = {InitScheme::Uniform, -0.5, 0.5};
  exercise.seed = 1995;
  exercise.optimizer = "sgd";
  exercise.learning_rate = 0.1;
  exercise.batch_size = 25;
  exercise.epochs = 5;
  exercise.normalization = "unit";
  exercise.batch_rule = BatchRule::ShuffledEpochs;
  register_recipe(make_recipe(
      "exercise-mlp",
      "the exercise's MLP: 784→16→16→10 ReLU, weights and biases uniform(−0.5, 0.5) from RandomState(1995), "
      "softmax output (as log-softmax) with mean negative log-likelihood, pixels/255, SGD lr 0.1, batch 25, "
      "5 shuffled epochs",
      exercise, {Setting::Hidden, Setting::Activation}, [](auto tag, const Settings& s, RandomState& rng) {
        using Scalar = decltype(tag);
        Model<Scalar> m;
        m.network = build_mlp<Scalar>(s, rng, 784, 10);
        // Softmax output in log space (stable), then the mean negative log-likelihood.
        m.network.template emplace<LogSoftmax<Scalar>>(10);
        m.loss = std::make_unique<NegativeLogLikelihood<Scalar>>();
        m.optimizer = make_optimizer<Scalar>(s, m.network);
        return m;
      }));

  // The PyTorch practical's MLP.
  Settings practical = pytorch_procedure();
  practical.hidden = {64, 32};
  practical.activation = "relu";
  practical.optimizer = "sgd";
  practical.learning_rate = 5e-2;
  practical.batch_size = 100;
  practical.epochs = 5;
  register_recipe(make_recipe(
      "practical-mlp",
      "the PyTorch practical's MLP: 784→64→32→10 ReLU, PyTorch-default init U(±1/√fan_in), softmax "
      "cross-entropy, normalised with (0.1307, 0.3081), SGD lr 0.05, batch 100, 5 shuffled epochs, float32",
      practical, {Setting::Hidden, Setting::Activation}, [](auto tag, const Settings& s, RandomState& rng) {
        using Scalar = decltype(tag);
        Model<Scalar> m;
        m.network = build_mlp<Scalar>(s, rng, 784, 10);
        m.loss = std::make_unique<SoftmaxCrossEntropy<Scalar>>();
        m.optimizer = make_optimizer<Scalar>(s, m.network);
        return m;
      }));
}

template LayerPtr<float> make_activation<float>(const std::string&, Index);
template LayerPtr<double> make_activation<double>(const std::string&, Index);
template Network<float> build_mlp<float>(const Settings&, RandomState&, Index, Index);
template Network<double> build_mlp<double>(const Settings&, RandomState&, Index, Index);
template std::unique_ptr<Optimizer<float>> make_optimizer<float>(const Settings&, Network<float>&);
template std::unique_ptr<Optimizer<double>> make_optimizer<double>(const Settings&, Network<double>&);
template ByteRows<float> prepare_inputs<float>(const PixelMatrix&, const Settings&);
template ByteRows<double> prepare_inputs<double>(const PixelMatrix&, const Settings&);
template std::string architecture_text<float>(const Network<float>&);
template std::string architecture_text<double>(const Network<double>&);
template std::string describe_settings<float>(const Recipe&, const Settings&, const Network<float>&);
template std::string describe_settings<double>(const Recipe&, const Settings&, const Network<double>&);

}  // namespace eigennet::tools
