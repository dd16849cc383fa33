// The CNN recipes (notebook-cnn, lenet) are registered here by the CNN engineer, who replaces
// this file. Until then it registers nothing, so train-mnist lists only the MLP recipes.
//
// To add one: build the network in a generic builder and register it, e.g.
//   register_recipe(make_recipe("lenet", "LeNet-5 ...", settings,
//       [](auto tag, const Settings& s, RandomState& rng) { ... return model; }));
// with recipe.image_rows/image_cols set to the input images it takes (28×28 for MNIST).
#include "recipes.hpp"

namespace eigennet::tools {

void register_cnn_recipes() {}

}  // namespace eigennet::tools
