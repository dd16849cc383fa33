// train-mnist: trains a named recipe (tools/recipes.hpp) on MNIST, or on Fashion-MNIST where no
// MNIST is found, then saves the model (.npz) and the training log (.csv).
//
//   train-mnist --recipe notebook-mlp --data ~/mnist --save model.npz --log log.csv
//
// Its last line on stdout is `test accuracy: NN.NN%`. Errors go to stderr with a non-zero exit:
// 1 for bad input (data, checkpoint, settings), 2 when training diverges, CLI11's codes for a
// bad command line.
//
// A sweep (--lr, --batch or --hidden given a list: --lr 5e-4,0.9,5e-2, --hidden 64,32:128,64)
// trains one run per value (every combination when several flags have lists), each from its own
// RandomState(seed) drawn in the same order as a single run (weights, split, batches), so runs
// that differ only in --lr start from the same weights and see the same batches. It ends with a
// table of the runs; --log writes one CSV with the swept flags' columns, --plot one figure
// (training loss against examples seen, one colour per run, test losses as points). A run that
// diverges is a row that says so and the sweep goes on: exit 0 when at least one run finished,
// 2 when every run diverged.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
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
#include "eigennet/gemm/plan.hpp"
#include "eigennet/train/train.hpp"
#include "mpi_job.hpp"
#include "precision.hpp"
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
  std::string precision = "float32";  // --precision: float32 or bf16 products on the CPU (precision.hpp)
  bool plan = false;           // --plan: print the GEMM planner's plan after training
  bool mpi = false;            // --mpi: split each batch over the MPI job's ranks (mpi_job.hpp)
  const MpiJob* mpi_job = nullptr;
  PlotFlags plots;          // --plot, --plot-samples, --show (train_plots.hpp)
};

// Flags that override a recipe's settings are kept here and applied only when given.
struct Overrides {
  Index epochs = 0, iterations = 0, batch = 0, test_every = 0;
  double learning_rate = 0, val_fraction = 0;
  std::vector<Index> hidden;
  std::string lr_text, batch_text, hidden_text;  // as given: one value, or a sweep's list
  std::string activation, init, dtype, normalization, batch_rule, optimizer;
  std::uint32_t seed = 0;
  bool first_batch = false;
  CLI::Option *epochs_opt, *iterations_opt, *batch_opt, *test_every_opt, *lr_opt, *val_opt, *hidden_opt,
      *activation_opt, *init_opt, *dtype_opt, *normalization_opt, *batch_rule_opt, *optimizer_opt, *seed_opt;
};

// ---- lists of values (sweeps) -----------------------------------------------------------------

// One value of a list flag: as typed (the table, the legend and the log show it) and parsed.
template <typename T>
struct ListValue {
  std::string text;
  T value;
};

// Splits at `sep`, keeping empty parts (so that 0.1,,0.2 is refused), trimming spaces.
std::vector<std::string> split_list(const std::string& text, char sep) {
  std::vector<std::string> parts(1);
  for (char c : text) {
    if (c == sep)
      parts.emplace_back();
    else if (c != ' ')
      parts.back() += c;
  }
  return parts;
}

// Where a bad value sits, for the message: nothing for a single value.
std::string in_list(const std::string& text) {
  const bool list = split_list(text, ',').size() > 1 || text.find(':') != std::string::npos;
  return list ? " in the list '" + text + "'" : "";
}

Index parse_count(const std::string& token, const std::string& text) {
  if (token.empty()) throw std::invalid_argument("an empty value" + in_list(text));
  const bool digits = std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || token.size() > 12 || std::stoll(token) <= 0)
    throw std::invalid_argument("'" + token + "' is not a positive whole number" + in_list(text));
  return Index(std::stoll(token));
}

std::vector<ListValue<double>> parse_lr_list(const std::string& text) {
  std::vector<ListValue<double>> values;
  for (const std::string& token : split_list(text, ',')) {
    if (token.empty()) throw std::invalid_argument("an empty value" + in_list(text));
    char* end = nullptr;
    const double v = std::strtod(token.c_str(), &end);
    if (end != token.c_str() + token.size() || !std::isfinite(v) || !(v > 0))
      throw std::invalid_argument("'" + token + "' is not a positive number" + in_list(text));
    for (const auto& seen : values)
      if (seen.value == v) throw std::invalid_argument("'" + token + "' is there twice" + in_list(text));
    values.push_back({token, v});
  }
  return values;
}

std::vector<ListValue<Index>> parse_batch_list(const std::string& text) {
  std::vector<ListValue<Index>> values;
  for (const std::string& token : split_list(text, ',')) {
    const Index v = parse_count(token, text);
    for (const auto& seen : values)
      if (seen.value == v) throw std::invalid_argument("'" + token + "' is there twice" + in_list(text));
    values.push_back({token, v});
  }
  return values;
}

// Networks separated by ':', each its widths separated by ',': 64,32:128,64 is two networks.
std::vector<ListValue<std::vector<Index>>> parse_hidden_list(const std::string& text) {
  std::vector<ListValue<std::vector<Index>>> values;
  for (const std::string& network : split_list(text, ':')) {
    if (network.empty()) throw std::invalid_argument("an empty network (widths between two ':')" + in_list(text));
    std::vector<Index> widths;
    for (const std::string& token : split_list(network, ',')) widths.push_back(parse_count(token, text));
    for (const auto& seen : values)
      if (seen.value == widths) throw std::invalid_argument("'" + network + "' is there twice" + in_list(text));
    values.push_back({network, widths});
  }
  return values;
}

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
  // --batch, --lr, --hidden take a list for a sweep (checked here, so a bad value is a usage error).
  auto list_check = [](auto parse) {
    return CLI::Validator(
        [parse](std::string& text) {
          try {
            parse(text);
            return std::string();
          } catch (const std::invalid_argument& e) {
            return std::string(e.what());
          }
        },
        "LIST");
  };
  v.batch_opt = app.add_option("--batch", v.batch_text, "batch size; a list sweeps it: 32,64,128")
                    ->check(list_check(parse_batch_list));
  v.lr_opt = app.add_option("--lr", v.lr_text,
                            "learning rate; a list sweeps it: 5e-4,0.9,5e-2 (one run per value, the same initial "
                            "weights and batches; a table, and with --plot one figure, of the runs)")
                 ->check(list_check(parse_lr_list));
  v.hidden_opt = app.add_option("--hidden", v.hidden_text,
                                "hidden layer widths, e.g. 64,32; networks separated by ':' sweep them: 64,32:128,64")
                     ->check(list_check(parse_hidden_list));
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
  app.add_option("--precision", o.precision,
                 "float32, or bf16: the CPU's float32 products with operands rounded to bfloat16 (oneDNN, on "
                 "AVX512-BF16 or AMX; float32 accumulation, weights and update); where the CPU or build has no bf16, "
                 "a message and float32")
      ->check(CLI::IsMember(precision_spellings()))
      ->capture_default_str();
  app.add_flag("--mpi", o.mpi,
               "run as one rank of an MPI job (mpirun -np N train-mnist --mpi ...): each rank trains on its block "
               "of every batch, gradients summed by MPI_Allreduce; rank 0 prints and writes");
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
  app.add_flag("--plan", o.plan,
               "after training, print the GEMM planner's plan (each product's kernel timings and choice; the "
               "planner measures with EIGENNET_GEMM=auto, else the pinned kernel is shown)");
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

// What a sweep keeps of one of its runs.
struct RunRecord {
  TrainingHistory history;  // the run's; for a diverged run, up to the step before the divergence
  std::string diverged;     // empty, or why the run stopped
  Index train_size = 0;     // training samples (after a validation split)
  double seconds = 0;       // training time, test passes included

  // The loop's observer: a diverged run's history dies with the loop, so it is kept as it grows.
  void observe(TrainingEvent event, const TrainingHistory& h) {
    if (event == TrainingEvent::Step) {
      history.loss.push_back(h.loss.back());
      history.batch_accuracy.push_back(h.batch_accuracy.back());
    } else {
      history = h;
    }
  }
};

void print_plan() {
  std::fflush(stdout);
  print_gemm_plan(std::cout);
  std::cout.flush();
}

// One run. With a record (a sweep), a diverging run is recorded and returns 2 instead of throwing.
template <typename Scalar>
int run(const Recipe& recipe, const Settings& settings, const Options& options, const FoundDataset& dataset,
        RunRecord* record = nullptr) {
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
  const LabeledData<Scalar> train(prepare_inputs<Scalar>(train_set->pixels, settings), train_set->labels),
      test(prepare_inputs<Scalar>(dataset.data.test.pixels, settings), dataset.data.test.labels);
  if (!options.eval_only && settings.batch_size > train.size() && settings.batch_rule != BatchRule::FirstB)
    std::printf("note: the batch (%lld) is larger than the training set (%lld samples%s): %s\n",
                (long long)settings.batch_size, (long long)train.size(),
                settings.val_fraction > 0 ? " after the validation split" : "",
                settings.batch_rule == BatchRule::ShuffledEpochs
                    ? "each epoch is one step over the whole set"
                    : "each step draws the batch from it with replacement");
  const LabeledData<Scalar> validation =
      settings.val_fraction > 0
          ? LabeledData<Scalar>(prepare_inputs<Scalar>(validation_part.pixels, settings), validation_part.labels)
          : LabeledData<Scalar>();
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
    hooks.observer = [&progress, record](TrainingEvent event, const TrainingHistory& h) {
      progress(event, h);
      if (record) record->observe(event, h);
    };
    if (record) record->train_size = train.size();
    const Clock::time_point start = Clock::now();
    // On the GPU: the same batches (drawn above, on the host), the same loops and passes.
    std::unique_ptr<Stepper<Scalar>> gpu_steps;
    if (on_gpu) {
      gpu_steps = cuda::make_device_stepper(model.network, *model.loss, *model.optimizer, train,
                                            settings.batch_size, options.tf32);
      hooks.stepper = gpu_steps.get();
    }
    // --mpi: this rank's block of each batch, the gradients summed over the ranks.
    const std::unique_ptr<Stepper<Scalar>> mpi_steps =
        options.mpi ? options.mpi_job->make_stepper<Scalar>(model.network, *model.loss, *model.optimizer, train,
                                                             settings.batch_size)
                    : nullptr;
    if (mpi_steps) hooks.stepper = mpi_steps.get();
    try {
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
        history = train_epochs<Scalar>(model.network, *model.loss, *model.optimizer, next_batch, train, validation,
                                       test, o, hooks);
      }
    } catch (const TrainingDiverged& e) {
      if (!record) throw;
      progress.finish();
      record->diverged = e.what();
      record->seconds = seconds_since(start);
      std::printf("run diverged: %s\n", e.what());
      return 2;
    }
    train_seconds = seconds_since(start);
    if (record) record->history = history, record->seconds = train_seconds;
    progress.finish();
    if (mpi_steps) std::printf("%s\n", MpiJob::step_report(mpi_steps.get()).c_str());
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
  write_training_plots<Scalar>(options.plots, history, model.network, test, dataset.data.test, hooks.transform,
                              "train-mnist " + recipe.name);
  if (!options.eval_only) {
    const std::string where =
        on_gpu ? "GPU, upload included"
               : std::to_string(options.threads) + (options.threads == 1 ? " thread" : " threads") +
                     (options.data_parallel && options.threads > 1 ? ", data-parallel" : "") +
                     (options.mpi ? " per rank, " + std::to_string(options.mpi_job->size()) + " MPI ranks" : "");
    std::printf("trained %lld steps in %.2f s (%.2f ms/step, test passes included; %s)\n",
                (long long)history.steps(), train_seconds,
                1000 * train_seconds / double(std::max<Index>(1, history.steps())), where.c_str());
  }
  if (options.plan && !record) print_plan();
  std::printf("test accuracy: %.2f%%\n", 100 * history.final_test_accuracy());
  return 0;
}

// ---- a sweep: one run per value of the list flags ---------------------------------------------

// The lists given (a flag not given: empty; one value: no sweep over it).
struct Sweep {
  std::vector<ListValue<double>> lr;
  std::vector<ListValue<Index>> batch;
  std::vector<ListValue<std::vector<Index>>> hidden;
  bool active() const { return lr.size() > 1 || batch.size() > 1 || hidden.size() > 1; }
};

// One run of the sweep: its settings and its values of the swept flags.
struct SweepPoint {
  Settings settings;
  std::vector<std::string> values;  // one per swept flag, as typed
  std::string label;                // "lr 5e-4", "lr 0.1, batch 32"
};

// Every combination, --lr outermost, then --batch, then --hidden. `columns`: the swept flags.
std::vector<SweepPoint> sweep_points(const Settings& base, const Sweep& sw, std::vector<std::string>& columns) {
  if (sw.lr.size() > 1) columns.push_back("lr");
  if (sw.batch.size() > 1) columns.push_back("batch");
  if (sw.hidden.size() > 1) columns.push_back("hidden");
  std::vector<SweepPoint> points;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, sw.lr.size()); ++i)
    for (std::size_t j = 0; j < std::max<std::size_t>(1, sw.batch.size()); ++j)
      for (std::size_t k = 0; k < std::max<std::size_t>(1, sw.hidden.size()); ++k) {
        SweepPoint p{base, {}, {}};
        auto name = [&p](const std::string& flag, const std::string& text) {
          p.values.push_back(text);
          p.label += (p.label.empty() ? "" : ", ") + flag + " " + text;
        };
        if (!sw.lr.empty()) p.settings.learning_rate = sw.lr[i].value;
        if (!sw.batch.empty()) p.settings.batch_size = sw.batch[j].value;
        if (!sw.hidden.empty()) p.settings.hidden = sw.hidden[k].value;
        if (sw.lr.size() > 1) name("lr", sw.lr[i].text);
        if (sw.batch.size() > 1) name("batch", sw.batch[j].text);
        if (sw.hidden.size() > 1) name("hidden", sw.hidden[k].text);
        points.push_back(std::move(p));
      }
  return points;
}

// Training examples seen after `step` steps: a batch each, but the last batch of a shuffled
// epoch holds what is left of the set.
double examples_after(Index step, const Settings& s, Index n) {
  if (s.batch_rule != BatchRule::ShuffledEpochs) return double(step) * double(s.batch_size);
  const Index per_epoch = (n + s.batch_size - 1) / s.batch_size;
  const Index done = (step - 1) / per_epoch, in_epoch = (step - 1) % per_epoch + 1;
  return double(done) * double(n) + double(std::min(in_epoch * s.batch_size, n));
}

// Step and epoch of a divergence, from the loops' message ("training diverged at step 57 (epoch 1): ...").
std::string divergence_place(const std::string& message) {
  const std::string from = "diverged at ";
  const auto start = message.find(from), end = message.find(':', start);
  if (start == std::string::npos) return message;
  return "diverged at " + message.substr(start + from.size(), end - start - from.size());
}

SweepCurve sweep_curve(const SweepPoint& p, const RunRecord& r) {
  SweepCurve c;
  c.label = p.label;
  if (!r.diverged.empty()) c.notes.push_back(divergence_place(r.diverged));
  for (Index s = 1; s <= r.history.steps(); ++s) c.examples.push_back(examples_after(s, p.settings, r.train_size));
  c.loss = r.history.loss;
  for (double s : r.history.test_step) c.test_examples.push_back(examples_after(Index(s), p.settings, r.train_size));
  c.test_loss = r.history.test_loss;
  return c;
}

int run_sweep(const Recipe& recipe, const Settings& base, const Sweep& sw, const Options& options,
              const FoundDataset& dataset) {
  std::vector<std::string> columns;
  const std::vector<SweepPoint> points = sweep_points(base, sw, columns);
  std::string over;
  for (const std::string& c : columns) over += (over.empty() ? "--" : ", --") + c;
  std::printf("sweep over %s: %zu runs of %s, each from seed %u\n", over.c_str(), points.size(), recipe.name.c_str(),
              unsigned(base.seed));
  // The runs write nothing themselves: the sweep writes one log, one figure, one plan.
  Options run_options = options;
  run_options.log_path.clear();
  run_options.plots = PlotFlags{};
  run_options.plan = false;
  std::vector<RunRecord> records(points.size());
  for (std::size_t i = 0; i < points.size(); ++i) {
    std::printf("\n== run %zu/%zu: %s ==\n", i + 1, points.size(), points[i].label.c_str());
    with_dtype(points[i].settings.dtype, [&](auto tag) {
      return run<decltype(tag)>(recipe, points[i].settings, run_options, dataset, &records[i]);
    });
  }

  // The table: the swept values, then the results (train loss: the last epoch's mean, or the last
  // step's loss in the iteration loop).
  std::vector<std::size_t> width;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    width.push_back(columns[c].size());
    for (const SweepPoint& p : points) width[c] = std::max(width[c], p.values[c].size());
  }
  std::string head;
  for (std::size_t c = 0; c < columns.size(); ++c) head += format("%-*s  ", int(width[c]), columns[c].c_str());
  std::printf("\nsweep results (%s):\n%s%10s  %9s  %13s  %8s\n", recipe.name.c_str(), head.c_str(), "train loss",
              "test loss", "test accuracy", "time");
  std::size_t finished = 0;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const RunRecord& r = records[i];
    std::string row;
    for (std::size_t c = 0; c < columns.size(); ++c)
      row += format("%-*s  ", int(width[c]), points[i].values[c].c_str());
    if (!r.diverged.empty()) {
      row += format("%-36s  %7.2fs", divergence_place(r.diverged).c_str(), r.seconds);
    } else {
      ++finished;
      const TrainingHistory& h = r.history;
      const double train_loss = h.epoch_loss.empty() ? h.loss.back() : h.epoch_loss.back();
      row += format("%10.4f  %9.4f  %12.2f%%  %7.2fs", train_loss, h.test_loss.back(), 100 * h.test_accuracy.back(),
                    r.seconds);
    }
    std::printf("%s\n", row.c_str());
  }

  if (!options.log_path.empty()) {
    std::vector<SweepLogRun> runs;
    for (std::size_t i = 0; i < points.size(); ++i) runs.push_back({points[i].values, &records[i].history});
    write_sweep_log(options.log_path, columns, runs);
    std::printf("training log written to %s\n", options.log_path.c_str());
  }
  if (!options.plots.progress_path.empty()) {
    std::vector<SweepCurve> curves;
    for (std::size_t i = 0; i < points.size(); ++i) curves.push_back(sweep_curve(points[i], records[i]));
    plot_sweep(options.plots.progress_path, options.plots.show, curves,
               "train-mnist " + recipe.name + ": training loss per step, test loss after each pass");
  }
  if (options.plan) print_plan();
  std::printf("%zu of %zu runs finished%s\n", finished, points.size(),
              finished == points.size() ? "" : format(", %zu diverged", points.size() - finished).c_str());
  return finished > 0 ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  const MpiJob mpi(argc, argv);  // --mpi: MPI_Init before parsing, so that a bad argument ends every rank
  CLI::App app{"train-mnist: trains an eigennet recipe on MNIST and reports its test accuracy"};
  app.footer(
      "Data: --data DIR, else the first of $EIGENNET_MNIST_DIR, ./data/mnist, /usr/share/datasets/mnist,\n"
      "~/.cache/mnist, ./data that holds the four MNIST files (torchvision's MNIST/raw layout works too),\n"
      "else Fashion-MNIST from /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist).\n\n"
      "Sweeps: --lr 5e-4,0.9,5e-2, --batch 32,64, --hidden 64,32:128,64 (networks separated by ':') train\n"
      "one run per value (every combination when several flags have lists), each from the same seed,\n"
      "then print a table; --log writes one CSV with a column per swept flag, --plot one figure of the\n"
      "runs' losses against examples seen. A run that diverges is a row saying so: exit 0 when at least\n"
      "one run finished, 2 when all diverged. --save, --eval-only and --plot-samples take a single run.\n\n"
      "Recipes:\n" +
      recipe_list());
  Options options;
  Overrides overrides;
  define_flags(app, options, overrides);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const MpiJob::Verdict verdict = mpi.agree_to_stop(true, e.get_exit_code());
    return verdict.report ? app.exit(e) : verdict.code;
  }
  // Another rank's command line was bad (or asked for --help): stop with it.
  if (const MpiJob::Verdict verdict = mpi.agree_to_stop(false, 0); verdict.stop) return verdict.code;
  options.mpi_job = &mpi;
  if (mpi.rank() > 0) {  // rank 0 alone writes; the others' stdout is /dev/null
    options.save_path.clear();
    options.log_path.clear();
    options.plots = PlotFlags{};
  }

  try {
    const Recipe& recipe = find_recipe(options.recipe);
    Sweep sweep;  // the list flags (checked while parsing)
    if (*overrides.lr_opt) sweep.lr = parse_lr_list(overrides.lr_text), overrides.learning_rate = sweep.lr[0].value;
    if (*overrides.batch_opt)
      sweep.batch = parse_batch_list(overrides.batch_text), overrides.batch = sweep.batch[0].value;
    if (*overrides.hidden_opt)
      sweep.hidden = parse_hidden_list(overrides.hidden_text), overrides.hidden = sweep.hidden[0].value;
    const Settings settings = apply_overrides(recipe, overrides);
    if (options.mpi) {
      if (!MpiJob::built())
        throw std::invalid_argument("--mpi: this train-mnist was built without MPI (apt-get install libopenmpi-dev "
                                    "openmpi-bin, then reconfigure with -Dmpi=auto)");
      if (options.data_parallel)
        throw std::invalid_argument("--mpi splits each batch over the ranks: not with --data-parallel");
      if (options.device != "cpu")
        throw std::invalid_argument("--mpi trains on the CPU of each rank: not with --device " + options.device);
      if (settings.normalization == "per-batch")
        throw std::invalid_argument("--mpi: per-batch normalization needs the whole batch on one rank");
    }
    if (sweep.active()) {
      if (!options.save_path.empty())
        throw std::invalid_argument(
            "--save keeps one model: not with a sweep (train the value you choose again with --save)");
      if (options.eval_only) throw std::invalid_argument("--eval-only trains nothing: there is nothing to sweep");
      if (!options.plots.samples_path.empty())
        throw std::invalid_argument("--plot-samples draws one model's predictions: not with a sweep");
    }
    if (apply_precision(options.precision, settings.dtype, "train-mnist", options.device) == GemmPrecision::Bf16)
      std::printf("precision: bf16 products (operands rounded to bfloat16, float32 accumulation; float32 weights "
                  "and update)\n");
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

    if (sweep.active()) return run_sweep(recipe, settings, sweep, options, dataset);
    return with_dtype(settings.dtype,
                      [&](auto tag) { return run<decltype(tag)>(recipe, settings, options, dataset); });
  } catch (const TrainingDiverged& e) {  // under --mpi: at the same step on every rank (the loss is the batch's)
    std::fflush(stdout);
    if (mpi.rank() == 0) std::fprintf(stderr, "\ntrain-mnist: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "train-mnist: error%s: %s\n", mpi.active() ? format(" on rank %d", mpi.rank()).c_str() : "",
                 e.what());
    return mpi.abort(1);  // the other ranks may be waiting for this one
  }
}
