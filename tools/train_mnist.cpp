// train-mnist: trains a named recipe (tools/recipes.hpp) on MNIST, or on Fashion-MNIST where no
// MNIST is found, then saves the model (.npz) and the training log (.csv).
//
//   train-mnist --recipe notebook-mlp --data ~/mnist --save model.npz --log log.csv
//
// Its last line on stdout is `test accuracy: NN.NN%`. Errors go to stderr with a non-zero exit:
// 1 for bad input (data, checkpoint, settings), 2 when training diverges, CLI11's codes for a
// bad command line.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "eigennet/cuda/device_training.hpp"
#include "eigennet/data/atomic_file.hpp"
#include "eigennet/data/checkpoint.hpp"
#include "eigennet/data/mnist.hpp"
#include "eigennet/data/split.hpp"
#include "eigennet/threads.hpp"
#include "eigennet/gemm/gemm.hpp"
#include "eigennet/train/train.hpp"
#include "progress.hpp"
#include "recipes.hpp"
#include "train_plots.hpp"
#include "training_log.hpp"

using namespace eigennet;
using namespace eigennet::tools;

namespace {

// ---- the command line ------------------------------------------------------------------------

struct Options {
  std::string recipe = "practical-mlp";
  std::string data_dir;     // empty: the default locations
  std::string save_path;    // empty: do not save
  std::string load_path;    // empty: start from the recipe's initial weights
  std::string log_path;     // empty: no CSV log
  bool eval_only = false;
  int threads = 1;          // threads for matrix products
  bool data_parallel = false;  // split each batch over `threads` network replicas instead
  std::string device = "cpu";  // cpu, cuda, auto: where the training steps run
  bool tf32 = false;           // TensorFloat-32 in the GPU's float products
  PlotFlags plots;          // --plot, --plot-samples, --show (train_plots.hpp)
};

// Flags that override a recipe's settings are kept here and applied only when given.
struct Overrides {
  Index epochs = 0, iterations = 0, batch = 0, test_every = 0;
  double learning_rate = 0, val_fraction = 0;
  std::vector<Index> hidden;
  std::string activation, init, dtype, normalization, batch_rule, optimizer;
  std::uint32_t seed = 0;
  bool first_batch = false;
  CLI::Option *epochs_opt, *iterations_opt, *batch_opt, *test_every_opt, *lr_opt, *val_opt, *hidden_opt,
      *activation_opt, *init_opt, *dtype_opt, *normalization_opt, *batch_rule_opt, *optimizer_opt, *seed_opt;
};

std::string recipe_list() {
  std::string text;
  for (const Recipe& r : recipes()) text += "  " + r.name + "\n      " + r.description + "\n";
  return text;
}

void define_flags(CLI::App& app, Options& o, Overrides& v) {
  std::vector<std::string> names;
  for (const Recipe& r : recipes()) names.push_back(r.name);
  app.add_option("--recipe", o.recipe, "what to train (see --list-recipes)")
      ->check(CLI::IsMember(names))
      ->capture_default_str();
  app.add_option("--data", o.data_dir, "folder with the four MNIST-format IDX files (.gz or raw)");
  v.epochs_opt = app.add_option("--epochs", v.epochs, "train this many epochs (the epoch loop)")->check(CLI::PositiveNumber);
  v.iterations_opt =
      app.add_option("--iters", v.iterations, "train this many steps (the iteration loop)")->check(CLI::PositiveNumber);
  v.epochs_opt->excludes(v.iterations_opt);
  v.batch_opt = app.add_option("--batch", v.batch, "batch size")->check(CLI::PositiveNumber);
  v.lr_opt = app.add_option("--lr", v.learning_rate, "learning rate")->check(CLI::PositiveNumber);
  v.hidden_opt = app.add_option("--hidden", v.hidden, "hidden layer widths, e.g. 64,32")
                     ->delimiter(',')
                     ->check(CLI::PositiveNumber);
  v.activation_opt =
      app.add_option("--activation", v.activation, "hidden activation")->check(CLI::IsMember({"relu", "sigmoid", "tanh"}));
  v.init_opt = app.add_option("--init", v.init,
                              "weight initialisation: normal[:mean,std], uniform[:low,high], torch, glorot, he");
  v.seed_opt = app.add_option("--seed", v.seed, "seed of the RandomState (weights, split, batches)");
  v.dtype_opt = app.add_option("--dtype", v.dtype, "precision: float or double (also float32, float64)")
                    ->check(CLI::IsMember(dtype_spellings()));
  // One by default: products of these small models gain little from threads, and OpenMP threads
  // spin when the cores are shared (practical-mlp measured 3.1 s with 1 thread, 17–50 s with 2 on
  // a busy 2-core machine).
  app.add_option("--threads", o.threads, "threads for matrix products")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--device", o.device,
                 "where the training steps run: cpu; cuda (the GPU; MLP recipes with sgd or momentum); auto (the "
                 "GPU where the build has CUDA, a device answers and the recipe runs there, else the CPU)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
  app.add_flag("--tf32", o.tf32, "TensorFloat-32 in the GPU's float32 products (faster, ~1e-3 relative error)");
  app.add_flag("--data-parallel", o.data_parallel,
               "split each batch over --threads replicas of the network (DataParallel): faster than splitting "
               "the products for small networks");
  v.val_opt = app.add_option("--val-fraction", v.val_fraction,
                             "share of the training set held out for validation (seeded split)")
                  ->check(CLI::Range(0.0, 0.99));
  v.normalization_opt = app.add_option("--normalization", v.normalization, "input normalisation")
                            ->check(CLI::IsMember(normalization_names()));
  v.batch_rule_opt = app.add_option("--batch-rule", v.batch_rule,
                                    "random: randint with replacement; first: the first B samples every step; "
                                    "shuffle: shuffled epochs")
                         ->check(CLI::IsMember({"random", "first", "shuffle"}));
  app.add_flag("--first-batch", v.first_batch, "every step uses the first B samples (same as --batch-rule first)")
      ->excludes(v.batch_rule_opt);
  v.optimizer_opt =
      app.add_option("--optimizer", v.optimizer, "update rule")->check(CLI::IsMember({"sgd", "momentum", "adam"}));
  v.test_every_opt = app.add_option("--test-every", v.test_every,
                                    "iteration loop: test accuracy every K steps and after the last (0: last only)")
                         ->check(CLI::NonNegativeNumber);
  app.add_option("--save", o.save_path, "write the trained parameters to this .npz file (atomically)");
  auto* load = app.add_option("--load", o.load_path, "start from the parameters in this .npz checkpoint");
  app.add_flag("--eval-only", o.eval_only, "only evaluate the --load'ed model on the test set")->needs(load);
  app.add_option("--log", o.log_path, "write the per-step training log to this .csv file");
  app.add_flag_callback(
      "--list-recipes",
      [] {
        std::cout << recipe_list();
        throw CLI::Success();
      },
      "list the recipes and exit");
  define_plot_flags(app, o.plots);  // --plot, --plot-samples (--plot-rows/-cols, --misclassified-first), --show
}

Settings apply_overrides(const Recipe& recipe, const Overrides& v) {
  Settings s = recipe.defaults;
  if (*v.epochs_opt) s.epochs = v.epochs, s.iterations = 0;
  if (*v.iterations_opt) s.iterations = v.iterations, s.epochs = 0;
  if (*v.batch_opt) s.batch_size = v.batch;
  if (*v.lr_opt) s.learning_rate = v.learning_rate;
  if (*v.hidden_opt) {
    require_takes(recipe, Setting::Hidden);
    s.hidden = v.hidden;
  }
  if (*v.activation_opt) {
    require_takes(recipe, Setting::Activation);
    s.activation = v.activation;
  }
  if (*v.init_opt) s.init = parse_init(v.init);
  if (*v.seed_opt) s.seed = v.seed;
  if (*v.dtype_opt) s.dtype = parse_dtype(v.dtype);
  if (*v.val_opt) s.val_fraction = v.val_fraction;
  if (*v.normalization_opt) s.normalization = v.normalization;
  if (*v.batch_rule_opt) s.batch_rule = parse_batch_rule(v.batch_rule);
  if (v.first_batch) s.batch_rule = BatchRule::FirstB;
  if (*v.optimizer_opt) s.optimizer = v.optimizer;
  if (*v.test_every_opt) s.test_every = v.test_every;
  return s;
}

// ---- where the steps run ---------------------------------------------------------------------

// Empty: the GPU can run this (--device cuda|auto). Else why not (the recipe's layers, loss or
// update, a setting that runs on the host only, no CUDA in this build, no device).
template <typename Scalar>
std::string why_not_gpu(const Model<Scalar>& model, const Settings& settings, const Options& options) {
  if (options.data_parallel) return "--data-parallel splits batches over CPU threads";
  if (settings.normalization == "per-batch") return "per-batch normalization runs on the host";
  std::string why = cuda::device_support(model.network, *model.loss, *model.optimizer);
  if (why.empty() && !cuda::query_device().available) why = "no GPU: " + cuda::query_device().reason;
  return why;
}

// --device: true for the GPU. Prints which device the run uses; --device cuda where the GPU
// cannot run it is an error naming why.
template <typename Scalar>
bool choose_gpu(const Model<Scalar>& model, const Settings& settings, const Options& options) {
  if (options.device == "cpu" || options.eval_only) {
    if (options.tf32) throw std::invalid_argument("--tf32 applies to training on the GPU (--device cuda or auto)");
    std::printf("device: CPU%s\n", options.eval_only && options.device != "cpu" ? " (evaluation runs on the host)" : "");
    return false;
  }
  const std::string why = why_not_gpu(model, settings, options);
  if (!why.empty()) {
    if (options.device == "cuda") throw std::invalid_argument("--device cuda: " + why);
    std::printf("device: CPU (--device auto: %s)\n", why.c_str());
    return false;
  }
  std::printf("device: GPU %s (--device %s%s)\n", cuda::query_device().name.c_str(), options.device.c_str(),
              options.tf32 && sizeof(Scalar) == 4 ? ", TF32 products" : "");
  return true;
}

// ---- one run in one precision ----------------------------------------------------------------

template <typename Scalar>
int run(const Recipe& recipe, const Settings& settings, const Options& options, const FoundDataset& dataset) {
  RandomState rng(settings.seed);
  Model<Scalar> model = recipe.build<Scalar>(settings, rng);  // draws the initial weights
  std::printf("recipe %s\n", describe_settings(recipe, settings, model.network).c_str());
  const bool on_gpu = choose_gpu(model, settings, options);
  std::printf("%s", model.network.summary().c_str());
  ParameterList<Scalar> parameters = model.network.parameters();
  if (!options.load_path.empty()) {
    try {
      load_checkpoint(parameters, options.load_path);
    } catch (const CheckpointMismatch& e) {
      throw DataError(std::string(e.what()) + "\n(--load: the checkpoint must come from the same model; this one is " +
                      recipe.name + ", " + architecture_text(model.network) + ")");
    }
    std::printf("loaded parameters from %s\n", options.load_path.c_str());
  }

  // Inputs: a seeded validation split first (if asked), then scaling and normalisation.
  const ImageSet* train_set = &dataset.data.train;
  ImageSet train_part, validation_part;
  if (settings.val_fraction > 0) {
    const Index n = train_set->size();
    const Split split = random_split(n, Index(std::llround(settings.val_fraction * double(n))), rng);
    train_part = subset(*train_set, split.train);
    validation_part = subset(*train_set, split.validation);
    train_set = &train_part;
  }
  Matrix<Scalar> train_x, validation_x, test_x;
  prepare_inputs<Scalar>(train_set->pixels, settings, train_x);
  prepare_inputs<Scalar>(dataset.data.test.pixels, settings, test_x);
  if (settings.val_fraction > 0) prepare_inputs<Scalar>(validation_part.pixels, settings, validation_x);
  const LabeledData<Scalar> train(train_x, train_set->labels), test(test_x, dataset.data.test.labels);
  if (!options.eval_only && settings.batch_size > train.size() && settings.batch_rule != BatchRule::FirstB)
    std::printf("note: the batch (%lld) is larger than the training set (%lld samples%s): %s\n",
                (long long)settings.batch_size, (long long)train.size(),
                settings.val_fraction > 0 ? " after the validation split" : "",
                settings.batch_rule == BatchRule::ShuffledEpochs
                    ? "each epoch is one step over the whole set"
                    : "each step draws the batch from it with replacement");
  const LabeledData<Scalar> validation =
      settings.val_fraction > 0 ? LabeledData<Scalar>(validation_x, validation_part.labels) : LabeledData<Scalar>();
  TrainingHooks<Scalar> hooks;
  if (settings.normalization == "per-batch") hooks.transform = [](MatrixRef<Scalar> b) { normalize_batch<Scalar>(b); };

  TrainingHistory history;
  double train_seconds = 0;
  if (options.eval_only) {
    const Evaluation e = evaluate<Scalar>(model.network, test, 1000, model.loss.get(), hooks.transform);
    history.test_step.push_back(0);
    history.test_accuracy.push_back(e.accuracy);
    history.test_loss.push_back(e.loss);
    std::printf("test loss %.4f on %lld samples\n", e.loss, (long long)e.samples);
  } else {
    BatchSampler sampler(train.size(), settings.batch_size, settings.batch_rule, rng);
    const NextBatch next_batch = [&sampler]() -> const std::vector<Index>& { return sampler.next(); };
    const Index batches_per_epoch = (train.size() + settings.batch_size - 1) / settings.batch_size;
    const Index total = settings.iterations > 0 ? settings.iterations : settings.epochs * batches_per_epoch;
    std::printf("training on %lld samples (validation %lld, test %lld)\n", (long long)train.size(),
                (long long)validation.size(), (long long)test.size());
    Progress progress(isatty(fileno(stdout)) != 0, total, settings.iterations > 0 ? 0 : settings.epochs);
    hooks.observer = [&progress](TrainingEvent event, const TrainingHistory& h) { progress(event, h); };
    const Clock::time_point start = Clock::now();
    // On the GPU: the same batches (drawn above, on the host), the same loops and passes.
    std::unique_ptr<Stepper<Scalar>> gpu_steps;
    if (on_gpu) {
      gpu_steps = cuda::make_device_stepper(model.network, *model.loss, *model.optimizer, train,
                                            settings.batch_size, options.tf32);
      hooks.stepper = gpu_steps.get();
    }
    if (settings.iterations > 0) {
      IterationOptions o;
      o.iterations = settings.iterations;
      o.batch_size = settings.batch_size;
      o.test_every = settings.test_every;
      o.data_parallel = options.data_parallel ? options.threads : 1;
      history = train_iterations<Scalar>(model.network, *model.loss, *model.optimizer, next_batch, train, validation,
                                         test, o, hooks);
    } else {
      EpochOptions o;
      o.epochs = settings.epochs;
      o.batches_per_epoch = batches_per_epoch;
      o.batch_size = settings.batch_size;
      o.data_parallel = options.data_parallel ? options.threads : 1;
      history = train_epochs<Scalar>(model.network, *model.loss, *model.optimizer, next_batch, train, validation, test,
                                     o, hooks);
    }
    train_seconds = seconds_since(start);
    progress.finish();
  }

  // After training: the history (plain vectors), the model and the test set are all here.
  // The pictures (--plot, --plot-samples) come after the model and the log are saved, so a plot
  // error cannot lose them.
  if (!options.save_path.empty()) {
    save_checkpoint(parameters, options.save_path);
    std::printf("model saved to %s (numpy: np.load('%s'); arrays %s...)\n", options.save_path.c_str(),
                options.save_path.c_str(), parameters.front().name.c_str());
  }
  if (!options.log_path.empty()) {
    write_training_log(options.log_path, history);
    std::printf("training log written to %s\n", options.log_path.c_str());
  }
  write_training_plots<Scalar>(options.plots, history, model.network, test_x, dataset.data.test, hooks.transform,
                              "train-mnist " + recipe.name);
  if (!options.eval_only) {
    const std::string where =
        on_gpu ? "GPU, upload included"
               : std::to_string(options.threads) + (options.threads == 1 ? " thread" : " threads") +
                     (options.data_parallel && options.threads > 1 ? ", data-parallel" : "");
    std::printf("trained %lld steps in %.2f s (%.2f ms/step, test passes included; %s)\n",
                (long long)history.steps(), train_seconds,
                1000 * train_seconds / double(std::max<Index>(1, history.steps())), where.c_str());
  }
  std::printf("test accuracy: %.2f%%\n", 100 * history.final_test_accuracy());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"train-mnist: trains an eigennet recipe on MNIST and reports its test accuracy"};
  app.footer(
      "Data: --data DIR, else the first of $EIGENNET_MNIST_DIR, ./data/mnist, /usr/share/datasets/mnist,\n"
      "~/.cache/mnist, ./data that holds the four MNIST files (torchvision's MNIST/raw layout works too),\n"
      "else Fashion-MNIST from /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist).\n\n"
      "Recipes:\n" +
      recipe_list());
  Options options;
  Overrides overrides;
  define_flags(app, options, overrides);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    const Recipe& recipe = find_recipe(options.recipe);
    const Settings settings = apply_overrides(recipe, overrides);
    set_thread_count(options.threads);
    // Where the results go is checked before anything is trained.
    if (!options.save_path.empty()) require_writable_destination(options.save_path, "--save");
    if (!options.log_path.empty()) require_writable_destination(options.log_path, "--log");

    const Clock::time_point start = Clock::now();
    const FoundDataset dataset = find_dataset(options.data_dir);
    require_image_size(dataset.data.train, recipe.image_rows, recipe.image_cols, "recipe " + recipe.name);
    require_image_size(dataset.data.test, recipe.image_rows, recipe.image_cols, "recipe " + recipe.name);
    std::printf("dataset: %s: %lld training and %lld test images of %lld×%lld (read in %.2f s)\n",
                dataset.description.c_str(), (long long)dataset.data.train.size(), (long long)dataset.data.test.size(),
                (long long)dataset.data.train.rows, (long long)dataset.data.train.cols, seconds_since(start));

    return with_dtype(settings.dtype,
                      [&](auto tag) { return run<decltype(tag)>(recipe, settings, options, dataset); });
  } catch (const TrainingDiverged& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "\ntrain-mnist: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "train-mnist: error: %s\n", e.what());
    return 1;
  }
}
