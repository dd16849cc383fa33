// Named training recipes for train-mnist: each is a network, its initialisation, optimizer,
// loss, data normalisation, batch rule and schedule, with every setting overridable by a flag.
//
// A recipe's build function receives the (overridden) settings and the run's RandomState,
// seeded with settings.seed, and must draw the initial weights from it; the training batches
// are drawn from the same generator afterwards (the notebook's order: weights, then batches).
//
// Adding a recipe: write a generic builder `[](auto tag, const Settings& s, RandomState& rng)`
// returning Model<decltype(tag)>, and register it with make_recipe(...) from a registration
// function. The MLP recipes live in recipes.cpp (register_mlp_recipes); the CNN recipes
// (notebook-cnn, lenet) are registered by register_cnn_recipes() in recipes_cnn.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "eigennet/data/batching.hpp"
#include "eigennet/data/mnist.hpp"
#include "eigennet/data/preprocess.hpp"
#include "eigennet/model/init.hpp"
#include "eigennet/model/loss.hpp"
#include "eigennet/model/network.hpp"
#include "eigennet/train/optimizer.hpp"
#include "eigennet/random.hpp"
#include "dtype.hpp"

namespace eigennet::tools {

// Everything a recipe fixes and a flag may override.
struct Settings {
  Dtype dtype = Dtype::Double;
  std::vector<Index> hidden;      // hidden layer widths (MLPs), e.g. {64, 32}
  std::string activation = "relu";  // "relu" | "sigmoid" | "tanh"
  InitOptions init;               // scheme and its parameters (mean/std or low/high)
  std::uint32_t seed = 0;         // seeds the RandomState of weights, split and batches
  std::string optimizer = "sgd";  // "sgd" | "momentum" | "adam"
  double learning_rate = 1e-2;
  Index batch_size = 40;
  Index iterations = 0;           // > 0: the iteration loop (train_iterations)
  Index epochs = 0;               // > 0: the epoch loop (train_epochs); exactly one of the two
  Index test_every = 10;          // iteration loop: test pass every k steps (0: after the last only)
  double val_fraction = 0;        // share of the training set held out for validation
  std::string normalization = "whole-set";  // see normalization_names()
  Normalization fixed_normalization = kMnistNormalization;  // for "fixed"
  BatchRule batch_rule = BatchRule::WithReplacement;
};

// The settings only some recipes read: the MLP recipes build their hidden layers from them, the
// CNN recipes have a fixed network. Every other setting every recipe takes.
enum class Setting { Hidden, Activation };
// "--hidden", "--activation": the flag that sets it.
std::string setting_flag(Setting setting);

// A built model: the network, its loss and its optimizer (over the network's parameters).
template <typename Scalar>
struct Model {
  Network<Scalar> network;
  std::unique_ptr<Loss<Scalar>> loss;
  std::unique_ptr<Optimizer<Scalar>> optimizer;
};

template <typename Scalar>
using ModelBuilder = std::function<Model<Scalar>(const Settings&, RandomState&)>;

struct Recipe {
  std::string name;
  std::string description;  // one line: architecture, init, loss, schedule, source
  Settings defaults;
  std::vector<Setting> takes;  // which of the Settings above its builder reads
  Index image_rows = 28;    // the images the model takes (fixed input shape)
  Index image_cols = 28;
  ModelBuilder<float> build_float;
  ModelBuilder<double> build_double;

  template <typename Scalar>
  Model<Scalar> build(const Settings& settings, RandomState& rng) const;
  bool reads(Setting setting) const { return std::find(takes.begin(), takes.end(), setting) != takes.end(); }
};

template <>
inline Model<float> Recipe::build<float>(const Settings& settings, RandomState& rng) const {
  return build_float(settings, rng);
}
template <>
inline Model<double> Recipe::build<double>(const Settings& settings, RandomState& rng) const {
  return build_double(settings, rng);
}

// One builder for both precisions: body(Scalar{}, settings, rng) → Model<Scalar>.
template <typename Body>
Recipe make_recipe(std::string name, std::string description, Settings defaults, std::vector<Setting> takes,
                   Body body) {
  Recipe recipe;
  recipe.name = std::move(name);
  recipe.description = std::move(description);
  recipe.defaults = std::move(defaults);
  recipe.takes = std::move(takes);
  recipe.build_float = [body](const Settings& s, RandomState& rng) { return body(float{}, s, rng); };
  recipe.build_double = [body](const Settings& s, RandomState& rng) { return body(double{}, s, rng); };
  return recipe;
}

// ---- the registry --------------------------------------------------------------------------

// Adds a recipe; throws std::invalid_argument on a duplicate name.
void register_recipe(Recipe recipe);
// All recipes in registration order (registers the built-in ones on first use).
const std::vector<Recipe>& recipes();
// The recipe of that name; std::invalid_argument listing the known names otherwise.
const Recipe& find_recipe(const std::string& name);
// std::invalid_argument naming the recipe and the flag when the recipe does not read `setting`
// (a flag it would ignore), and the recipes that do.
void require_takes(const Recipe& recipe, Setting setting);

// notebook-mlp, exercise-mlp, practical-mlp (recipes.cpp).
void register_mlp_recipes();
// notebook-cnn, lenet (recipes_cnn.cpp).
void register_cnn_recipes();

// ---- helpers for builders and for the tool -------------------------------------------------

// The notebook's training procedure, shared by notebook-mlp and notebook-cnn: weights
// normal(0, 0.01) from RandomState(42), SGD lr 0.01, batches of 40 by randint (with
// replacement), 400 iterations testing every 10, whole-set normalisation. The network's settings
// (dtype, hidden layers) are the caller's.
Settings notebook_procedure();

// The PyTorch practical's procedure, shared by practical-mlp and lenet: float32, PyTorch-default
// init U(±1/√fan_in) from seed 0, normalised with MNIST's (0.1307, 0.3081), shuffled epochs. The
// optimizer, batch size, epochs and network settings are the caller's.
Settings pytorch_procedure();

// "relu" → Relu layer of that width, likewise "sigmoid", "tanh"; std::invalid_argument otherwise.
template <typename Scalar>
LayerPtr<Scalar> make_activation(const std::string& name, Index size);

// inputs → hidden[0] → act → ... → hidden[k-1] → act → classes, every Dense initialised from
// rng in order (W1, then W2, ...; bias as each W's last row). The output is logits.
template <typename Scalar>
Network<Scalar> build_mlp(const Settings& settings, RandomState& rng, Index inputs, Index classes);

// settings.optimizer over the network's parameters at settings.learning_rate
// (momentum: 0.9; adam: PyTorch's defaults).
template <typename Scalar>
std::unique_ptr<Optimizer<Scalar>> make_optimizer(const Settings& settings, Network<Scalar>& network);

// "whole-set", "fixed", "per-batch", "unit" (pixels / 255 only).
const std::vector<std::string>& normalization_names();

// Pixels → inputs: pixel / 255, then settings.normalization over the whole set ("whole-set":
// this set's own mean and std; "fixed": settings.fixed_normalization; "per-batch" and "unit":
// nothing more here), read so as each batch is gathered (unit_scale_rows: the pixels stay bytes,
// borrowed; the values are those of the converted matrix, bit for bit).
template <typename Scalar>
ByteRows<Scalar> prepare_inputs(const PixelMatrix& pixels, const Settings& settings);

// "random" (randint with replacement), "first" (the first B samples every step), "shuffle"
// (shuffled epochs); std::invalid_argument otherwise.
BatchRule parse_batch_rule(const std::string& name);
std::string batch_rule_name(BatchRule rule);

// "normal:0,0.01", "uniform:-0.5,0.5", "torch", "glorot", "he"; a bare "normal" or "uniform"
// takes (0, 0.01) or (−0.5, 0.5). std::invalid_argument otherwise.
InitOptions parse_init(const std::string& text);
std::string init_text(const InitOptions& init);

// The network as one line, from its layers: the input width, then "→width" for each layer that
// changes it (dense by its output size; conv2d and maxpool2d named, with their output size) and
// the activations by name: "784→1000 relu→10", "784→conv2d 5760 relu→maxpool2d 1440→10".
template <typename Scalar>
std::string architecture_text(const Network<Scalar>& network);

// "notebook-mlp: double, 784→1000 relu→10, init normal(0, 0.01) seed 42, sgd lr 0.01, ..." for
// the log; the architecture is the built network's.
template <typename Scalar>
std::string describe_settings(const Recipe& recipe, const Settings& settings, const Network<Scalar>& network);

}  // namespace eigennet::tools
