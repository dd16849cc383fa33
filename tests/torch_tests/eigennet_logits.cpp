// Test helper for tests/torch_tests: eigennet's own outputs on the whole test set, for a
// checkpoint, computed exactly as train-mnist computes them (its recipes, tools/recipes*.cpp, its
// prepare_inputs, the dataset find_dataset() picks), written as an .npz for the Python side.
//
//   eigennet_logits --recipe R [--hidden 64,32] [--activation A] --load model.npz --out out.npz
//
// out.npz: "outputs", N×10 in the recipe's precision (the network's last layer: logits, or
// log-probabilities for exercise-mlp). It prints "dataset: <description>" and
// "directory: <folder>" so that the caller reads the same IDX files.
#include <cstdio>
#include <exception>
#include <sstream>
#include <string>

#include "eigennet/data/checkpoint.hpp"
#include "eigennet/data/mnist.hpp"
#include "eigennet/data/npz.hpp"
#include "recipes.hpp"

using namespace eigennet;
using namespace eigennet::tools;

namespace {

template <typename Scalar>
void write_outputs(const Recipe& recipe, const Settings& settings, const FoundDataset& dataset,
                   const std::string& load, const std::string& out) {
  RandomState rng(settings.seed);
  Model<Scalar> model = recipe.build<Scalar>(settings, rng);
  ParameterList<Scalar> parameters = model.network.parameters();
  load_checkpoint(parameters, load);
  const ByteRows<Scalar> x = prepare_inputs<Scalar>(dataset.data.test.pixels, settings);
  const Index n = x.rows(), batch = 1000;
  model.network.reserve(batch);
  Matrix<Scalar> outputs(n, model.network.output_size());
  for (Index begin = 0; begin < n; begin += batch) {
    const Index rows = std::min(batch, n - begin);
    MatrixRef<Scalar> input = model.network.input_buffer(rows);
    copy_rows<Scalar>(x, begin, rows, input);
    outputs.middleRows(begin, rows) = model.network.forward(input);
  }
  NpzWriter writer;
  writer.add("outputs", outputs);
  writer.save(out);
  std::printf("%s: %lld×%lld outputs of %s (%s) written to %s\n", load.c_str(), (long long)outputs.rows(),
              (long long)outputs.cols(), recipe.name.c_str(), architecture_text(model.network).c_str(), out.c_str());
}

std::vector<Index> parse_widths(const std::string& text) {
  std::vector<Index> widths;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) widths.push_back(std::stoll(item));
  return widths;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string recipe_name, load, out, hidden, activation;
    for (int i = 1; i + 1 < argc; i += 2) {
      const std::string flag = argv[i], value = argv[i + 1];
      if (flag == "--recipe") recipe_name = value;
      else if (flag == "--load") load = value;
      else if (flag == "--out") out = value;
      else if (flag == "--hidden") hidden = value;
      else if (flag == "--activation") activation = value;
      else throw std::invalid_argument("unknown flag " + flag);
    }
    if (argc % 2 == 0 || recipe_name.empty() || load.empty() || out.empty())
      throw std::invalid_argument("usage: eigennet_logits --recipe R [--hidden W,W] [--activation A] --load F --out F");
    const Recipe& recipe = find_recipe(recipe_name);
    Settings settings = recipe.defaults;
    if (!hidden.empty()) require_takes(recipe, Setting::Hidden), settings.hidden = parse_widths(hidden);
    if (!activation.empty()) require_takes(recipe, Setting::Activation), settings.activation = activation;

    const FoundDataset dataset = find_dataset();
    std::printf("dataset: %s\ndirectory: %s\n", dataset.description.c_str(), dataset.data.directory.c_str());
    with_dtype(settings.dtype, [&](auto tag) {
      write_outputs<decltype(tag)>(recipe, settings, dataset, load, out);
      return 0;
    });
    return 0;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "eigennet_logits: error: %s\n", e.what());
    return 1;
  }
}
