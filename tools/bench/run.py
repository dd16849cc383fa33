#!/usr/bin/env python3
"""The benchmark: eigennet and its peers side by side, in one run.

For each workload (W1–W6 below; W6 is the notebook CNN step, from the CNN bench) it runs,
one after the other on the same machine:
  eigennet       eigennet-bench (this build; its products where EIGENNET_GEMM puts them: the planner,
                 auto, by default)
  eigennet-alt   eigennet-bench --gemm eigen, Eigen's kernel pinned, where the default is anything else;
                 --gemm openblas (OpenBLAS's kernel on every product) where the default is eigen (only
                 where built with OpenBLAS); its label says what ran
  eigennet-planner  eigennet-bench --gemm auto (--planner), where the first column is not that planner
                 already: each product measured on its first call, the fastest kernel kept; the table
                 lists the planner's choice per product
  eigennet-bf16  eigennet-bench --precision bf16 (float32 workloads W1–W4): bf16 operands, float32
                 accumulation and master weights; skipped with the reason where bf16 cannot run
  PyTorch        peer_torch.py   (Debian python3-torch, CPU)
  torch-bf16     peer_torch.py --bf16: the same under torch.autocast("cpu", dtype=torch.bfloat16) (W1–W4)
  numpy          peer_numpy.py   (Debian python3-numpy; the notebook's closed form)
  GEMM bounds    gemm-bound --kernel K for every kernel K of the build (eigen, openblas, onednn, simd through
                 eigennet::gemm pinned; openblas-threads: cblas with OpenBLAS's own threads): exactly
                 the step's GEMM shapes; "the bound" is the best of them
each at 1 and 2 threads, keeps each one's best thread setting, and prints the table of medians
with the ratios eigennet/peer and eigennet's fraction of the GEMM-only bound, each kernel's bound,
the bf16 table and the planner's choices. A peer that is
not installed is skipped with a message; no number is ever made up. Before the workloads it runs
fma-peak once (this CPU's FMA peak, fp32 and fp64, 1 and all threads) and gives eigennet's
GFLOP/s in each row as a fraction of the peak at the row's dtype and thread count.

Only the standard library is used here (any python3 runs it); the peers need an interpreter
with numpy/torch, looked for as /usr/bin/python3, then this interpreter.

  tools/bench/run.sh [BUILD_DIR]           # default ./build
  python3 tools/bench/run.py --build-dir build --only W1,W4 --json results.json

--device cuda prints the GPU table instead (main_cuda below; a build with -Dcuda and a GPU):
eigennet-bench --device cuda beside PyTorch on the GPU (peer_torch_cuda.py, eager and CUDA graph)
and the cuBLAS GEMM-only bound (cuda-gemm-bound), issue 11's targets as PASS/MISS, then the
host-pointer backend's crossover (cuda-gemm-crossover) and rows. tools/cuda/device-check.sh runs
it on the GPU machine.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# The workloads. Every implementation gets the same flags.
#   metric: steps/s (higher is better), s/epoch (lower is better), GFLOP/s (higher is better,
#   6·B·Σ fan_in·fan_out per step).
WORKLOADS = [
    dict(name="W1", title="notebook MLP 784→1000→10, batch 40, float32", layers=[784, 1000, 10], batch=40,
         dtype="float32", rule="random", lr=0.01, metric="steps/s", warmup=100, steps=50, blocks=7),
    dict(name="W2", title="notebook MLP 784→1000→10, batch 256, float32", layers=[784, 1000, 10], batch=256,
         dtype="float32", rule="random", lr=0.01, metric="steps/s", warmup=20, steps=10, blocks=7),
    dict(name="W3", title="practical MLP 784→64→32→10, batch 100, float32, epoch of 60,000", layers=[784, 64, 32, 10],
         batch=100, dtype="float32", rule="epochs", lr=0.05, metric="s/epoch", warmup=100, steps=600, blocks=3),
    dict(name="W4", title="large MLP 784→4096→4096→10, batch 1024, float32", layers=[784, 4096, 4096, 10],
         batch=1024, dtype="float32", rule="random", lr=0.01, metric="GFLOP/s", warmup=1, steps=1, blocks=4),
    dict(name="W5", title="notebook MLP 784→1000→10, batch 40, float64", layers=[784, 1000, 10], batch=40,
         dtype="float64", rule="random", lr=0.01, metric="steps/s", warmup=100, steps=50, blocks=7),
    # The notebook CNN step (conv 5×5 1→10, ReLU, max-pool 2, dense 1440→10, batch 40): the CNN
    # engineer's bench-cnn for eigennet and TorchStep of tools/bench_cnn.py for PyTorch (through
    # peer_torch_cnn.py); random normal inputs; no numpy peer and no GEMM bound for it.
    dict(name="W6", title="notebook CNN step, batch 40, float32 (random inputs)", kind="cnn", batch=40,
         dtype="float32", metric="steps/s", warmup=100, steps=50, blocks=7),
]

# Issue 12's targets: (workload, kind, op, threshold), each a ratio of the best thread settings:
#   speed      eigennet's speed / the best float32 peer's (W3: epochs per second)
#   peer       eigennet/best peer in the workload's metric (W3: eigennet's epoch time / the peer's)
#   bound      eigennet's fraction of the best kernel's GEMM-only bound (speeds)
#   peak       eigennet's GFLOP/s (the step's products) / fma-peak at the row's dtype and threads
#   bf16-peer  eigennet bf16's speed / the best float32 peer's (issue 12: on a CPU with AMX)
#   bf16-torch eigennet bf16's speed / PyTorch's under bf16 autocast (> 1: ahead)
# They are checked for eigennet as configured (its first column) and shown for the planner beside it.
TARGETS = [(w, "speed", ">=", 1.3) for w in ("W1", "W2", "W3", "W4", "W5")] + \
          [(w, "bound", ">=", 0.95) for w in ("W1", "W2", "W3", "W4", "W5")] + [
    ("W3", "peer", "<=", 0.5),
    ("W4", "peak", ">=", 0.80),
] + [(w, "bf16-peer", ">=", 3.0) for w in ("W1", "W2", "W4")] + \
    [(w, "bf16-torch", ">", 1.0) for w in ("W1", "W2", "W3", "W4")]
TARGET_WHAT = {
    "speed": "eigennet/best peer (speed)",
    "peer": "eigennet/best peer (epoch time)",
    "bound": "fraction of the best GEMM-only bound",
    "peak": "fraction of the FMA peak",
    "bf16-peer": "eigennet bf16/best float32 peer (speed)",
    "bf16-torch": "eigennet bf16/PyTorch bf16 autocast (speed)",
}

PEERS = ["torch", "numpy"]
LABEL = {"torch": "PyTorch", "numpy": "numpy", "torch-bf16": "PyTorch bf16 autocast",
         "eigennet-planner": "eigennet (planner)", "eigennet-bf16": "eigennet bf16",
         "openblas-gemm": "OpenBLAS own threads"}
# eigennet's rows, in the tables' order: as configured, the other kernel, the planner.
EIGENNET_ROWS = ["eigennet", "eigennet-alt", "eigennet-planner"]
# The implementations that run bf16 products: float32 MLP workloads only.
BF16_IMPLS = ["eigennet-bf16", "torch-bf16"]


def bound_impl(kernel):
    """run.py's name for gemm-bound --kernel K: openblas-gemm for OpenBLAS's own threads (the
    bound's name before the planner, still accepted by --impls), bound-K for eigennet's kernels."""
    return "openblas-gemm" if kernel == "openblas-threads" else "bound-" + kernel


def is_bound(impl):
    return impl == "openblas-gemm" or impl.startswith("bound-")


def cpu_has_amx():
    """Whether /proc/cpuinfo lists AMX (amx_bf16): issue 12's bf16 3× target is for such CPUs."""
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and "amx_bf16" in line.split() for line in f)
    except OSError:
        return False


def log(message):
    print(message, flush=True)


def flops_per_step(w):
    if "layers" not in w:
        return float("nan")
    return 6.0 * w["batch"] * sum(a * b for a, b in zip(w["layers"][:-1], w["layers"][1:]))


def performed_flops_per_step(w):
    """The flops of the products a step performs: 2·B·in·out for the forward product and dW of
    every layer, and for dX of every layer but the first (nobody needs the input's gradient).
    flops_per_step's 6·B·Σ in·out (the GFLOP/s metric) also counts that dX, which for the MNIST
    MLPs is most of the first layer: against a physical peak it would overstate the speed."""
    if "layers" not in w:
        return float("nan")
    pairs = list(zip(w["layers"][:-1], w["layers"][1:]))
    return sum((4.0 if i == 0 else 6.0) * w["batch"] * a * b for i, (a, b) in enumerate(pairs))


def step_gflops(w, result):
    """The GFLOP/s of the products a result's median step performs, or None (the CNN rows)."""
    flops = performed_flops_per_step(w)
    if flops != flops or not result:
        return None
    if w["metric"] == "GFLOP/s":
        return result["median"] * flops / flops_per_step(w)
    if w["metric"] == "steps/s":
        return flops * result["median"] / 1e9
    return flops * result["steps_per_block"] / result["median"] / 1e9  # s/epoch


def peak_gflops(peak, w, threads):
    """fma-peak's GFLOP/s for the workload's dtype at this thread count (per core × threads where
    that count was not measured), or None."""
    by_threads = (peak or {}).get("gflops", {}).get(w["dtype"])
    if not by_threads:
        return None
    if str(threads) in by_threads:
        return by_threads[str(threads)]
    most = max(by_threads, key=int)
    return by_threads[most] / int(most) * threads


def metric_values(w, result):
    """The per-block values of the workload's metric."""
    out = []
    for s in result["block_seconds"]:
        if w["metric"] == "s/epoch":
            out.append(s)
        elif w["metric"] == "steps/s":
            out.append(result["steps_per_block"] / s)
        else:
            out.append(flops_per_step(w) * result["steps_per_block"] / s / 1e9)
    return out


def better(w, a, b):
    """True when metric value a beats b."""
    return a < b if w["metric"] == "s/epoch" else a > b


def speed_ratio(w, a, b):
    """How many times faster a is than b (>1: a faster), whatever the metric's direction."""
    return b / a if w["metric"] == "s/epoch" else a / b


# An implementation runs at each thread setting of --threads; eigennet's MLP bench also runs
# data-parallel (--data-parallel: DataParallel, one network replica per thread on its rows of
# the batch) at each setting above one thread. A setting is a thread count, or (count, "dp").
def settings_for(w, impl, threads):
    plain = list(threads)
    if impl in EIGENNET_ROWS + ["eigennet-bf16"] and w.get("kind") != "cnn":
        plain += [(t, "dp") for t in threads if t > 1]
    return plain


def setting_threads(setting):
    return setting[0] if isinstance(setting, tuple) else setting


def setting_is_data_parallel(setting):
    return isinstance(setting, tuple)


def setting_label(setting):
    return "%d dp" % setting[0] if isinstance(setting, tuple) else "%d thr" % setting



def find_mnist(explicit):
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    candidates = [explicit] if explicit else [os.environ.get("EIGENNET_MNIST_DIR", ""),
                                              os.path.join(REPO, "data", "mnist"), "/usr/share/datasets/mnist",
                                              os.path.expanduser("~/.cache/mnist")]
    for folder in candidates:
        if folder and all(os.path.isfile(os.path.join(folder, n)) or os.path.isfile(os.path.join(folder, n + ".gz"))
                          for n in names):
            return os.path.abspath(folder)
    return ""


def python_with(module):
    """An interpreter that can import `module`, or None."""
    for candidate in ("/usr/bin/python3", sys.executable, shutil.which("python3")):
        if not candidate or not os.path.exists(candidate):
            continue
        try:
            ok = subprocess.run([candidate, "-c", "import " + module], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, timeout=120).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return candidate
    return None


def run_one(command, timeout, env=None):
    """Runs one implementation; returns (result dict, None) or (None, why it failed)."""
    try:
        p = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                           env=env)
    except subprocess.TimeoutExpired:
        return None, "timed out after %d s" % timeout
    except OSError as e:
        return None, str(e)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
        why = (p.stderr.strip().splitlines() or ["no output"])[-1]
        return None, "exit %d: %s" % (p.returncode, why)
    try:
        return json.loads(lines[-1]), None
    except ValueError as e:
        return None, "unreadable output (%s)" % e


def fmt(value, metric):
    if value is None:
        return "—"
    if metric == "s/epoch":
        return "%.3f" % value
    return "%.1f" % value if value >= 100 else "%.2f" % value


def table(rows, header):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i]) for i, c in enumerate(r))
    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def load_line():
    try:
        return "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "load average unknown"


def main():
    p = argparse.ArgumentParser(description="eigennet benchmark: eigennet beside PyTorch, numpy and OpenBLAS")
    p.add_argument("--build-dir", default=os.path.join(REPO, "build"),
                   help="meson build folder with tools/bench/eigennet-bench (default: build)")
    p.add_argument("--data", default="", help="MNIST folder (default: $EIGENNET_MNIST_DIR, data/mnist, ...)")
    p.add_argument("--random-data", action="store_true", help="random inputs of MNIST's shape for every row")
    p.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W4 (default: all)")
    p.add_argument("--threads", default="1,2", help="thread settings tried for every implementation")
    p.add_argument("--impls", default="", help="comma-separated subset of eigennet,eigennet-alt,eigennet-planner,"
                                              "eigennet-bf16,torch,torch-bf16,numpy,bound (every kernel's "
                                              "GEMM-only bound) or bound-eigen,bound-openblas,bound-onednn,bound-simd,"
                                              "openblas-gemm (OpenBLAS's own threads) (default: all available)")
    p.add_argument("--planner", choices=["auto", "all"], default="auto",
                   help="EIGENNET_GEMM value of the eigennet (planner) row: auto (kernels that allocate nothing: "
                        "Eigen, OpenBLAS) or all (oneDNN too)")
    p.add_argument("--blocks-scale", type=float, default=1.0, help="scale the timed blocks (e.g. 0.5 for a quick look)")
    p.add_argument("--rounds", type=int, default=None,
                   help="spread each workload's blocks over this many rounds of all implementations "
                        "(default 2; 1 with --device cuda)")
    p.add_argument("--timeout", type=int, default=300, help="seconds allowed to one implementation run")
    p.add_argument("--json", default="", help="also write every run's raw result to this file")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cuda: the GPU table (eigennet-bench --device cuda beside PyTorch on the GPU, eager and "
                        "CUDA graph, and the cuBLAS GEMM-only bound; then the host-pointer backend's rows and "
                        "crossover). Needs a build with -Dcuda and a GPU")
    p.add_argument("--host-threads", type=int, default=min(16, os.cpu_count() or 1),
                   help="--device cuda: CPU threads of the host-pointer rows and the crossover (default: the "
                        "machine's cores, at most 16)")
    p.add_argument("--sweep", default="0,1e6,1e7,1e8,1e9,1e10",
                   help="--device cuda: min_flops values of cuda_gemm_backend for the host-pointer rows (values "
                        "that send the same products to the GPU run once)")
    p.add_argument("--time-budget", type=float, default=0,
                   help="--device cuda: seconds after which the remaining runs are skipped, saying so (0: none)")
    args = p.parse_args()
    if args.device == "cuda":
        return main_cuda(args)
    if args.rounds is None:
        args.rounds = 2

    build = os.path.abspath(args.build_dir)
    bench = os.path.join(build, "tools", "bench", "eigennet-bench")
    if not os.path.isfile(bench):
        print("run.py: %s not found; build it first: ninja -C %s tools/bench/eigennet-bench" % (bench, build),
              file=sys.stderr)
        return 1
    gemm_bound = os.path.join(build, "tools", "bench", "gemm-bound")
    threads = [int(t) for t in args.threads.split(",")]
    wanted = set(args.impls.split(",")) if args.impls else None
    workloads = [w for w in WORKLOADS if not args.only or w["name"] in args.only.split(",")]

    started = time.time()
    log("eigennet benchmark — %s UTC, %s, %d CPUs, %s" % (
        datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), platform.processor() or platform.machine(),
        os.cpu_count() or 0, load_line()))
    log("build: %s" % build)

    # Which implementations can run. "eigennet" is the build as configured, its products where
    # EIGENNET_GEMM puts them (gemm_backend_name(): "eigen" by default); where OpenBLAS was built in,
    # --gemm openblas (openblas_gemm_backend(), OpenBLAS on every product) runs too, as "eigennet-alt".
    impls = {}
    tiny = ["--random-data", "--layers", "4,10", "--batch", "2", "--warmup", "0", "--steps", "1", "--blocks", "1"]
    probe, why = run_one([bench] + tiny, 60)
    if probe is None:
        print("run.py: %s does not run: %s" % (bench, why), file=sys.stderr)
        return 1
    default_gemm = probe["gemm"]
    impls["eigennet"] = [bench]
    # The planner's gemm_backend_name() is the choice ("auto"/"all"): name it as the planner.
    planner_default = default_gemm in ("auto", "all")
    LABEL["eigennet"] = "eigennet (%s)" % ("planner" if default_gemm == "auto" else
                                           "planner, all" if default_gemm == "all" else default_gemm)
    other = "eigen" if default_gemm != "eigen" else "openblas"
    alt_probe = run_one([bench, "--gemm", other] + tiny, 60)[0]
    if alt_probe:
        impls["eigennet-alt"] = [bench, "--gemm", other]
        LABEL["eigennet-alt"] = "eigennet (%s)" % alt_probe["gemm"]
    else:
        log("eigennet with OpenBLAS GEMM: skipped (built without it: apt-get install libopenblas-dev, then "
            "meson setup --reconfigure <build>; -Dblas=auto builds it when found)")
    # The planner: each product measured on its first call (in the warm-up), the fastest kept. With
    # one candidate (auto without OpenBLAS) it measures nothing and would repeat a pinned row.
    # Where the build's default already is that planner (EIGENNET_GEMM=auto, the default since the
    # planner became it), the first column is the planner and this row would repeat it.
    planner_probe = run_one([bench, "--gemm", args.planner] + tiny, 60)[0]
    if default_gemm == args.planner:
        log("eigennet (planner): the first column (EIGENNET_GEMM's choice: %s) is the planner" % default_gemm)
    elif planner_probe and planner_probe["gemm"] in ("auto", "all"):
        impls["eigennet-planner"] = [bench, "--gemm", args.planner]
        if args.planner != "auto":
            LABEL["eigennet-planner"] = "eigennet (planner, %s)" % args.planner
    else:
        log("eigennet (planner): skipped (EIGENNET_GEMM=%s has one kernel to choose from in this build: %s)"
            % (args.planner, planner_probe["gemm"] if planner_probe else "does not run"))
    # bf16: float32 products on bf16 operands (set_gemm_precision); eigennet-bench says why not where
    # it cannot (no precision API in the tree, no oneDNN, a CPU without AVX512-BF16 or AMX).
    bf16_probe, why = run_one([bench, "--precision", "bf16"] + tiny, 60)
    if bf16_probe:
        impls["eigennet-bf16"] = [bench, "--precision", "bf16"]
        LABEL["eigennet-bf16"] = "eigennet bf16 (%s)" % bf16_probe["gemm"]
    else:
        log("eigennet bf16: skipped — %s" % why)
    for module, script in (("torch", "peer_torch.py"), ("numpy", "peer_numpy.py")):
        python = python_with(module)
        if python:
            impls[module] = [python, os.path.join(HERE, script)]
            if module == "torch":
                impls["torch-bf16"] = [python, os.path.join(HERE, script), "--bf16"]
        else:
            log("%s: skipped (no python3 here can import %s; Debian: apt-get install python3-%s)" % (
                LABEL[module], module, module))
    # The GEMM-only bounds: gemm-bound on every kernel it has (--list-kernels; a gemm-bound from
    # before --kernel runs OpenBLAS with its own threads only).
    if os.path.isfile(gemm_bound):
        listed = run_one([gemm_bound, "--list-kernels"], 60)[0]
        kernels = listed["kernels"] if listed and "kernels" in listed else ["openblas-threads"]
        for kernel in kernels:
            impl = bound_impl(kernel)
            impls[impl] = [gemm_bound] + (["--kernel", kernel] if listed else [])
            LABEL.setdefault(impl, "bound " + kernel)
    else:
        log("GEMM-only bound: skipped (gemm-bound not built: ninja -C %s tools/bench/gemm-bound)" % build)
    if wanted:
        impls = {k: v for k, v in impls.items() if k in wanted or ("bound" in wanted and is_bound(k))}

    # The physical limit: this CPU's FMA peak, measured once before the workloads.
    fma_peak = os.path.join(build, "tools", "bench", "fma-peak")
    peak = None
    if os.path.isfile(fma_peak):
        peak, why = run_one([fma_peak, "--json", "--threads", str(max(threads))], 120)
        if peak:
            g = peak["gflops"]
            log("FMA peak (fma-peak, %s, %d chains): float32 %s GFLOP/s, float64 %s GFLOP/s" % (
                peak["vector"], peak["chains"],
                ", ".join("%.0f (%s thr)" % (v, t) for t, v in g["float32"].items()),
                ", ".join("%.0f (%s thr)" % (v, t) for t, v in g["float64"].items())))
        else:
            log("FMA peak: skipped — %s" % why)
    else:
        log("FMA peak: skipped (fma-peak not built: ninja -C %s tools/bench/fma-peak)" % build)

    data = "" if args.random_data else find_mnist(args.data)
    if args.data and not data:
        print("run.py: --data %s does not hold train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]"
              % args.data, file=sys.stderr)
        return 1
    if data:
        data_args = ["--data", data]
        log("data: MNIST training set from %s (random batches / shuffled epochs; the GEMM bound uses random matrices)"
            % data)
    else:
        data_args = ["--random-data"]
        log("data: random inputs of MNIST's shape (60000×784) for every row%s" % (
            "" if args.random_data else " — MNIST not found (set EIGENNET_MNIST_DIR or --data)"))

    bench_cnn = os.path.join(build, "tools", "bench-cnn")
    torch_python = impls["torch"][0] if "torch" in impls else None

    def command_for(w, impl, blocks):
        """The command line of one implementation for workload w, or None where it has no such
        implementation (with the reason)."""
        if w.get("kind") == "cnn":
            common = ["--model", "notebook", "--dtype", w["dtype"], "--batch", str(w["batch"]), "--warmup",
                      str(w["warmup"]), "--steps", str(w["steps"]), "--blocks", str(blocks)]
            if impl == "eigennet":
                if not os.path.isfile(bench_cnn):
                    return None, "pending: no bench-cnn in %s/tools (ninja -C %s tools/bench-cnn)" % (build, build)
                return [bench_cnn] + common, None
            if impl == "torch":
                return [torch_python, os.path.join(HERE, "peer_torch_cnn.py")] + common, None
            return None, "no implementation of the CNN step"
        if impl == "bound-onednn" and w["dtype"] == "float64":
            return None, "oneDNN 2.6 has no float64 GEMM"
        if impl in BF16_IMPLS and w["dtype"] != "float32":
            return None, "bf16 is for float32 workloads (bf16 operands of float32 products)"
        common = ["--layers", ",".join(map(str, w["layers"])), "--batch", str(w["batch"]), "--dtype", w["dtype"],
                  "--rule", w["rule"], "--lr", str(w["lr"]), "--warmup", str(w["warmup"]), "--steps",
                  str(w["steps"]), "--blocks", str(blocks)] + data_args
        return impls[impl] + common, None

    def normalise(w, result):
        """bench-cnn prints ms per step per block; turn that into block seconds."""
        if "block_seconds" not in result and "ms_per_step_blocks" in result:
            steps = w["steps"]
            result["block_seconds"] = [ms * steps / 1000.0 for ms in result["ms_per_step_blocks"]]
            result["steps_per_block"] = steps
            result["timed_steps"] = steps * len(result["block_seconds"])
            result.setdefault("maxrss_kb", None)
            result.setdefault("allocations", None)
            result.setdefault("gemm", "")
        return result

    raw = [dict(peak, impl="fma-peak")] if peak else []
    summary = {}  # workload -> impl -> the best thread setting's merged result {threads, median, ...}
    per_thread = {}  # workload -> (impl, threads) -> merged result
    for w in workloads:
        log("\n%s  %s" % (w["name"], w["title"]))
        summary[w["name"]] = {}
        # The timed blocks are spread over --rounds rounds; each round runs every implementation
        # at every thread setting once, so a slow phase of the machine hits all of them alike.
        total_blocks = max(1, int(round(w["blocks"] * args.blocks_scale)))
        rounds = max(1, min(args.rounds, total_blocks))
        merged = {}  # (impl, setting) -> result with the blocks of every round
        skipped = set()
        # Implementations without this workload, one line per reason (the CNN step has no bound,
        # bf16 or alternative-kernel rows; float64 no bf16 rows).
        absent = {}
        for impl in impls:
            command, why = command_for(w, impl, 1)
            if command is None:
                absent.setdefault(why, []).append(LABEL[impl])
                skipped.update((impl, u) for u in settings_for(w, impl, threads))
        for why, labels in absent.items():
            log("  skipped — %s: %s" % (why, ", ".join(labels)))
        for r in range(rounds):
            blocks = total_blocks * (r + 1) // rounds - total_blocks * r // rounds
            for impl in impls:
                for setting in settings_for(w, impl, threads):
                    if (impl, setting) in skipped:
                        continue
                    command, why = command_for(w, impl, blocks)
                    t = setting_threads(setting)
                    extra_flags = ["--data-parallel"] if setting_is_data_parallel(setting) else []
                    result, why = run_one(command + ["--threads", str(t)] + extra_flags, args.timeout)
                    if result is None:
                        log("  %-26s %s: skipped — %s" % (LABEL[impl], setting_label(setting), why))
                        skipped.add((impl, setting))
                        merged.pop((impl, setting), None)
                        continue
                    result = normalise(w, result)
                    result.update(impl=impl, workload=w["name"], threads=t, setting=setting_label(setting),
                                  round=r + 1)
                    raw.append(dict(result, block_seconds=list(result["block_seconds"])))
                    m = merged.get((impl, setting))
                    if m is None:
                        merged[(impl, setting)] = result
                    else:
                        m["block_seconds"] += result["block_seconds"]
                        m["timed_steps"] += result["timed_steps"]
                        if result.get("maxrss_kb"):
                            m["maxrss_kb"] = max(m.get("maxrss_kb") or 0, result["maxrss_kb"])
                        if m.get("allocations") is not None and result.get("allocations") is not None:
                            m["allocations"] += result["allocations"]
        per_thread[w["name"]] = merged
        for impl in impls:
            best = None
            for setting in settings_for(w, impl, threads):
                result = merged.get((impl, setting))
                if result is None:
                    continue
                values = metric_values(w, result)
                result.update(metric=w["metric"], median=statistics.median(values), min=min(values), max=max(values))
                extra = ""
                if result.get("maxrss_kb"):
                    extra += ", maxrss %.0f MB" % (result["maxrss_kb"] / 1024.0)
                if result.get("allocations") is not None:
                    extra += ", %d allocations in %d steps" % (result["allocations"], result["timed_steps"])
                log("  %-26s %s: median %s %s (%d blocks: %s … %s)%s" % (
                    LABEL[impl], setting_label(setting), fmt(result["median"], w["metric"]), w["metric"], len(values),
                    fmt(min(values), w["metric"]), fmt(max(values), w["metric"]), extra))
                if best is None or better(w, result["median"], best["median"]):
                    best = result
            if best is not None:
                summary[w["name"]][impl] = best

    # The FMA peak once more: a peak is what the cores can do, so each entry keeps the larger of
    # the two measurements (a VM's second core is sometimes busy elsewhere for a while, and one
    # measurement then halves the two-thread peak).
    if peak:
        again, _ = run_one([fma_peak, "--json", "--threads", str(max(threads))], 120)
        if again:
            for dtype, by_threads in again["gflops"].items():
                for t, v in by_threads.items():
                    peak["gflops"][dtype][t] = max(peak["gflops"][dtype].get(t, 0), v)
            g = peak["gflops"]
            log("\nFMA peak after the workloads, the larger of the two measurements: float32 %s GFLOP/s, float64 %s "
                "GFLOP/s" % (", ".join("%.0f (%s thr)" % (v, t) for t, v in g["float32"].items()),
                             ", ".join("%.0f (%s thr)" % (v, t) for t, v in g["float64"].items())))

    # The tables of medians: the (each implementation at its best thread setting), and
    # one thread each, which a machine with a busy or throttled second core disturbs far less.
    bounds = [i for i in impls if is_bound(i)]
    rows_here = [i for i in EIGENNET_ROWS if i in impls]

    def best_of(w, results):
        """The best of some results (None for none)."""
        best = None
        for r in results:
            if r is not None and (best is None or better(w, r["median"], best["median"])):
                best = r
        return best

    def bound_kernel(impl):
        return "openblas-threads" if impl == "openblas-gemm" else impl[len("bound-"):]

    def medians_table(pick, title):
        log("\n== %s ==" % title)
        header = ["", "metric"] + [LABEL[i] for i in rows_here]
        header += [LABEL[p] for p in PEERS if p in impls]
        header += ["eigennet/best peer"]
        if bounds:
            header += ["GEMM-only bound (kernel)", "eigennet/bound"]
        if peak:
            header += ["eigennet GFLOP/s (of FMA peak)"]
        rows, ratios = [], {}
        for w in workloads:
            s = {impl: pick(w["name"], impl) for impl in impls}
            s = {impl: r for impl, r in s.items() if r is not None}
            cell = lambda impl: ("%s (%s)" % (fmt(s[impl]["median"], w["metric"]), s[impl]["setting"].replace(" thr", ""))
                                 if impl in s else "—")
            row = [w["name"], w["metric"]] + [cell(i) for i in rows_here]
            row += [cell(p) for p in PEERS if p in impls]
            best_peer = best_of(w, [s.get(p) for p in PEERS])
            best_bound = best_of(w, [s.get(b) for b in bounds])
            if best_peer:
                ratios[(w["name"], "best-peer")] = best_peer
            for impl in rows_here:  # the targets' ratios, for eigennet and for the planner
                e = s.get(impl)
                if e and best_peer:
                    ratios[(w["name"], "peer", impl)] = e["median"] / best_peer["median"]
                    ratios[(w["name"], "speed", impl)] = speed_ratio(w, e["median"], best_peer["median"])
                if e and best_bound:
                    ratios[(w["name"], "bound", impl)] = speed_ratio(w, e["median"], best_bound["median"])
                gf = step_gflops(w, e)
                top = peak_gflops(peak, w, e["threads"]) if e else None
                if gf is not None and top:
                    ratios[(w["name"], "peak", impl)] = gf / top
            e = s.get("eigennet")
            if e and best_peer:
                row.append("%.2f (vs %s)" % (ratios[(w["name"], "peer", "eigennet")], LABEL[best_peer["impl"]]))
            else:
                row.append("—")
            if bounds:
                if best_bound:
                    row.append("%s (%s, %s)" % (fmt(best_bound["median"], w["metric"]),
                                                best_bound["setting"].replace(" thr", ""),
                                                bound_kernel(best_bound["impl"])))
                else:
                    row.append("—")
                row.append("%.2f" % ratios[(w["name"], "bound", "eigennet")] if (w["name"], "bound", "eigennet")
                           in ratios else "—")
            if peak:
                gf = step_gflops(w, e)
                frac = ratios.get((w["name"], "peak", "eigennet"))
                row.append("%.1f (%.2f)" % (gf, frac) if gf is not None and frac is not None else "—")
            rows.append(row)
        log(table(rows, header))
        return ratios

    ratios = medians_table(lambda name, impl: summary[name].get(impl),
                           "Medians, each implementation at its best thread setting (threads in brackets; "
                           "dp: eigennet's DataParallel, the batch split over replicas)")
    log("eigennet/best peer is in the workload's metric: for s/epoch (W3) it is a ratio of times (lower is better),")
    log("otherwise of speeds. eigennet/bound = eigennet's speed / the speed of a step made of its GEMMs alone, on the")
    log("kernel whose step was fastest (each kernel's below).")
    if peak:
        log("eigennet GFLOP/s = the flops of the step's products (2·batch·in·out each: forward and dW of every layer, "
            "dX of all but the first; W4's metric counts 6·batch·Σ in·out) × steps/s; in brackets its fraction of "
            "fma-peak's %s-bit FMA peak for the row's dtype and threads." % peak["vector_bits"])
    if 1 in threads and len(threads) > 1:
        medians_table(lambda name, impl: per_thread[name].get((impl, 1)), "The same, one thread each")

    # Each kernel's GEMM-only bound, at its best thread setting, and eigennet's fraction of each.
    if bounds:
        log("\n== GEMM-only bound per kernel (the step's products alone; best thread setting) ==")
        rows = []
        for w in workloads:
            if "layers" not in w:
                continue
            s = summary[w["name"]]
            e = s.get("eigennet")
            row = [w["name"], w["metric"]]
            for b in bounds:
                r = s.get(b)
                row.append("%s (%s)" % (fmt(r["median"], w["metric"]), r["setting"].replace(" thr", "")) if r else "—")
            for b in bounds:
                r = s.get(b)
                row.append("%.2f" % speed_ratio(w, e["median"], r["median"]) if r and e else "—")
            rows.append(row)
        log(table(rows, ["", "metric"] + [bound_kernel(b) for b in bounds] +
                  ["eigennet/%s" % bound_kernel(b) for b in bounds]))
        log("eigen, openblas, onednn, simd: eigennet::gemm pinned to that kernel, inside eigennet's split over the "
            "threads; openblas-threads: cblas with OpenBLAS's own threads. oneDNN 2.6 has no float64 GEMM.")

    # bf16: eigennet's float32 workloads with bf16 products beside PyTorch under bf16 autocast.
    if any(i in impls for i in BF16_IMPLS):
        log("\n== bf16 (float32 workloads; products on bf16 operands, float32 accumulation; best thread setting) ==")
        rows = []
        for w in workloads:
            if "layers" not in w or w["dtype"] != "float32":
                continue
            s = summary[w["name"]]
            eb, tb, ef = s.get("eigennet-bf16"), s.get("torch-bf16"), s.get("eigennet")
            best_peer = ratios.get((w["name"], "best-peer"))
            cell = lambda r: "%s (%s)" % (fmt(r["median"], w["metric"]), r["setting"].replace(" thr", "")) if r else "—"
            if eb and tb:
                ratios[(w["name"], "bf16-torch", "eigennet")] = speed_ratio(w, eb["median"], tb["median"])
            if eb and best_peer:
                ratios[(w["name"], "bf16-peer", "eigennet")] = speed_ratio(w, eb["median"], best_peer["median"])
            rows.append([w["name"], w["metric"], cell(eb), cell(tb),
                         "%.2f" % (eb["median"] / tb["median"]) if eb and tb else "—",
                         "%s (%s, %s)" % (fmt(best_peer["median"], w["metric"]),
                                          best_peer["setting"].replace(" thr", ""), LABEL[best_peer["impl"]])
                         if best_peer else "—",
                         "%.2f" % (eb["median"] / best_peer["median"]) if eb and best_peer else "—",
                         "%.2f" % speed_ratio(w, eb["median"], ef["median"]) if eb and ef else "—"])
        log(table(rows, ["", "metric", LABEL.get("eigennet-bf16", "eigennet bf16"), LABEL["torch-bf16"],
                         "eigennet bf16/PyTorch bf16", "best float32 peer", "eigennet bf16/best float32 peer",
                         "bf16 speed-up of eigennet"]))
        log("Ratios in the workload's metric (W3: of epoch times, lower is better); the speed-up is "
            "eigennet bf16's speed / %s's. W5 is float64: no bf16 row." % LABEL["eigennet"])

    # The planner's choice per product, from the eigennet (planner) run at its best thread setting
    # (the plan of that setting's first run; a rerun can choose differently where kernels are close).
    planner_row = "eigennet-planner" if "eigennet-planner" in impls else "eigennet" if planner_default else None
    if planner_row:
        log("\n== The planner's choice per product (%s at its best thread setting; m×n×k op: kernel, "
            "tN: split over N threads) ==" % LABEL[planner_row])
        for w in workloads:
            r = summary[w["name"]].get(planner_row)
            if not r or "plan" not in r:
                continue
            picks = ["%dx%dx%d %s%s: %s" % (e["m"], e["n"], e["k"], e["op"],
                                            " t%d" % e["threads"] if e["threads"] > 1 else "", e["kernel"])
                     for e in r["plan"]]
            counts = {}
            for e in r["plan"]:
                counts[e["kernel"]] = counts.get(e["kernel"], 0) + 1
            line = "  %s (%s): " % (w["name"], r["setting"])
            out = []
            for text in picks:
                if len(line) + len(text) > 110 and line.strip():
                    out.append(line.rstrip(", "))
                    line = "      "
                line += text + ", "
            out.append(line.rstrip(", ") + "  [%s]" % ", ".join("%s %d" % kv for kv in sorted(counts.items())))
            log("\n".join(out))

    log("\n== Targets (issue 12; %s%s) ==" % (LABEL["eigennet"], ", %s in brackets" % LABEL["eigennet-planner"]
                                              if "eigennet-planner" in impls else ""))
    amx = cpu_has_amx()
    for name, kind, op, threshold in TARGETS:
        if not any(w["name"] == name for w in workloads):
            continue
        value = ratios.get((name, kind, "eigennet"))
        planner = ratios.get((name, kind, "eigennet-planner"))
        note = ""
        if kind == "bf16-peer" and not amx:
            note = "  (the target is for a CPU with AMX; this one has none)"
        if value is None:
            log("  %s %s %s %.2f: not measured (a row it needs was skipped)%s" % (name, TARGET_WHAT[kind], op,
                                                                                 threshold, note))
            continue
        met = {">=": value >= threshold, "<=": value <= threshold, ">": value > threshold}[op]
        log("  %s %s %s %.2f: %.2f%s  %s%s" % (name, TARGET_WHAT[kind], op, threshold, value,
                                               " (%.2f)" % planner if planner is not None else "",
                                               "met" if met else "NOT met", note))

    log("\n== Memory and allocations (the eigennet run at its best thread setting) ==")
    mem_rows = []
    for w in workloads:
        s = summary[w["name"]]
        row = [w["name"]]
        for impl in ["eigennet"] + [p for p in PEERS if p in impls]:
            row.append("%.0f" % (s[impl]["maxrss_kb"] / 1024.0) if impl in s and s[impl].get("maxrss_kb") else "—")
        e = s.get("eigennet")
        row.append("%d in %d steps" % (e["allocations"], e["timed_steps"]) if e and e.get("allocations") is not None
                   else "—")
        mem_rows.append(row)
    log(table(mem_rows, ["", "eigennet maxrss MB"] + ["%s maxrss MB" % LABEL[p] for p in PEERS if p in impls] +
              ["eigennet heap allocations after warm-up"]))
    log("(maxrss includes the training set: eigennet holds MNIST's bytes, 60000×784 B = 47 MB, converted batch by "
        "batch; the numpy and PyTorch peers hold floats, 188 MB for float32, 376 MB for float64)")

    log("\n%s; total %.0f s" % (load_line(), time.time() - started))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)
    return 0

# ---- --device cuda: the GPU table ------------------------------------------------------------
#
# eigennet's device-resident step (eigennet-bench --device cuda: DeviceNetwork, the whole step in
# one CUDA graph; also with direct launches), PyTorch on the GPU (peer_torch_cuda.py: eager, and
# the whole step in one CUDA graph), and the cuBLAS GEMM-only bound (cuda-gemm-bound: the step's
# products alone, in a CUDA graph), one after the other in the same run; then the host-pointer
# backend (eigennet-bench --gemm cuda: the CPU loop, each product placed where it measured
# faster; --cuda-min-flops X: products of at least X flops sent to the GPU) against the CPU alone,
# and the crossover sweep (cuda-gemm-crossover).

# The same workloads as WORKLOADS (W1–W5), with step counts for GPU speeds: PyTorch eager runs
# ~800 steps/s on W1, a CUDA-graph step ~10,000/s.
CUDA_STEPS = {
    "W1": dict(warmup=200, steps=1000, blocks=7),
    "W2": dict(warmup=100, steps=500, blocks=7),
    "W3": dict(warmup=100, steps=600, blocks=5),
    "W4": dict(warmup=5, steps=50, blocks=5),
    "W5": dict(warmup=200, steps=1000, blocks=7),
}
CUDA_IMPLS = ["eigennet-cuda", "eigennet-cuda-direct", "torch-cuda-eager", "torch-cuda-graph", "cublas-gemm"]
CUDA_LABEL = {
    "eigennet-cuda": "eigennet (graph)",
    "eigennet-cuda-direct": "eigennet (direct)",
    "torch-cuda-eager": "PyTorch eager",
    "torch-cuda-graph": "PyTorch graph",
    "cublas-gemm": "cuBLAS GEMMs (graph)",
}
# Issue 11's targets: (workload, against, op, threshold), the ratio eigennet/against in the
# workload's metric (W3: a ratio of epoch times, so <=; W4: GFLOP/s, a ratio of speeds).
CUDA_TARGETS = [
    ("W1", "torch-cuda-graph", ">=", 2.0),
    ("W5", "torch-cuda-graph", ">=", 2.0),
    ("W3", "torch-cuda-graph", "<=", 0.5),
    ("W4", "cublas-gemm", ">=", 0.95),
]


def layer_flops(w):
    """2·B·in·out of each dense layer: the flops of each of its products (forward, dW, dX)."""
    return [2.0 * w["batch"] * a * b for a, b in zip(w["layers"][:-1], w["layers"][1:])]


def products_on_gpu(w, min_flops):
    """How many of the step's products a cuda_gemm_backend(min_flops) sends to the GPU, of how many."""
    count = total = 0
    for i, f in enumerate(layer_flops(w)):
        products = 2 if i == 0 else 3  # forward and dW; dX except for the first layer
        total += products
        if f >= min_flops:
            count += products
    return count, total


def main_cuda(args):
    build = os.path.abspath(args.build_dir)
    bench = os.path.join(build, "tools", "bench", "eigennet-bench")
    bound = os.path.join(build, "tools", "bench", "cuda-gemm-bound")
    crossover = os.path.join(build, "tools", "bench", "cuda-gemm-crossover")
    if not os.path.isfile(bench):
        print("run.py: %s not found; build it first (a build configured with -Dcuda=enabled): ninja -C %s "
              "tools/bench/eigennet-bench tools/bench/cuda-gemm-bound tools/bench/cuda-gemm-crossover"
              % (bench, build), file=sys.stderr)
        return 1
    started = time.time()
    rounds = args.rounds or 1
    wanted = set(args.impls.split(",")) if args.impls else None
    workloads = [w for w in WORKLOADS if w["name"] in CUDA_STEPS and (not args.only or w["name"] in args.only.split(","))]
    log("eigennet GPU benchmark — %s UTC, %s, %d CPUs, %s" % (
        datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), platform.processor() or platform.machine(),
        os.cpu_count() or 0, load_line()))
    log("build: %s" % build)

    tiny = ["--random-data", "--layers", "4,10", "--batch", "2", "--warmup", "3", "--steps", "1", "--blocks", "1"]
    probe, why = run_one([bench, "--device", "cuda"] + tiny, 120)
    if probe is None:
        print("run.py: eigennet-bench --device cuda does not run: %s" % why, file=sys.stderr)
        return 1
    gpu_name = probe.get("device", "?")
    log("GPU: %s" % gpu_name)

    impls = {
        "eigennet-cuda": [bench, "--device", "cuda"],
        "eigennet-cuda-direct": [bench, "--device", "cuda", "--no-graph"],
    }
    python = python_with("torch")
    if python:
        script = os.path.join(HERE, "peer_torch_cuda.py")
        ok, why = run_one([python, script, "--mode", "eager"] + tiny, 180)
        if ok:
            impls["torch-cuda-eager"] = [python, script, "--mode", "eager"]
            impls["torch-cuda-graph"] = [python, script, "--mode", "graph"]
            log("PyTorch: %s (%s)" % (ok.get("gemm", "?"), python))
        else:
            log("PyTorch on the GPU: skipped — %s" % why)
    else:
        log("PyTorch on the GPU: skipped (no python3 here can import torch)")
    if os.path.isfile(bound):
        impls["cublas-gemm"] = [bound]
    else:
        log("cuBLAS GEMM-only bound: skipped (%s not built)" % bound)
    if wanted:
        impls = {k: v for k, v in impls.items() if k in wanted or k.startswith("eigennet-cuda") and "eigennet" in wanted}

    data = "" if args.random_data else find_mnist(args.data)
    if args.data and not data:
        print("run.py: --data %s does not hold the MNIST training files" % args.data, file=sys.stderr)
        return 1
    data_args = ["--data", data] if data else ["--random-data"]
    log("data: %s" % ("MNIST training set from " + data if data else "random inputs of MNIST's shape (60000×784)"
                      + ("" if args.random_data else " — MNIST not found (--data DIR)")))

    raw = []

    def over_budget():
        return args.time_budget and time.time() - started > args.time_budget

    def timed_runs(w, impl, command, steps, rounds_here, label):
        """Runs command over the rounds; returns the merged result with median/min/max, or None."""
        total_blocks = max(1, int(round(steps["blocks"] * args.blocks_scale)))
        rounds_here = max(1, min(rounds_here, total_blocks))
        merged = None
        for r in range(rounds_here):
            if over_budget():
                log("  %-34s skipped — over the time budget (%.0f s)" % (label, args.time_budget))
                return None
            blocks = total_blocks * (r + 1) // rounds_here - total_blocks * r // rounds_here
            full = command + ["--layers", ",".join(map(str, w["layers"])), "--batch", str(w["batch"]), "--dtype",
                              w["dtype"], "--rule", w["rule"], "--lr", str(w["lr"]), "--warmup", str(steps["warmup"]),
                              "--steps", str(steps["steps"]), "--blocks", str(blocks)] + data_args
            result, why = run_one(full, args.timeout)
            if result is None:
                log("  %-34s skipped — %s" % (label, why))
                return None
            result.update(impl=impl, workload=w["name"], round=r + 1, label=label)
            raw.append(dict(result, block_seconds=list(result["block_seconds"])))
            if merged is None:
                merged = result
            else:
                merged["block_seconds"] += result["block_seconds"]
                merged["timed_steps"] += result["timed_steps"]
        values = metric_values(w, merged)
        merged.update(median=statistics.median(values), min=min(values), max=max(values))
        extra = ""
        if merged.get("device_allocations") is not None:
            extra += ", %d device allocations" % merged["device_allocations"]
        if merged.get("allocations") is not None:
            extra += ", %d host allocations" % merged["allocations"]
        log("  %-34s median %s %s (%d blocks: %s … %s)%s" % (
            label, fmt(merged["median"], w["metric"]), w["metric"], len(values), fmt(merged["min"], w["metric"]),
            fmt(merged["max"], w["metric"]), extra))
        return merged

    # 1. The GPU rows: first those the targets need (so that a time budget cuts the others), then
    #    PyTorch eager and eigennet's direct launches.
    summary = {w["name"]: {} for w in workloads}
    for first, group in ((True, ["eigennet-cuda", "torch-cuda-graph", "cublas-gemm"]),
                         (False, ["torch-cuda-eager", "eigennet-cuda-direct"])):
        for w in workloads:
            log("\n%s  %s%s" % (w["name"], w["title"], "" if first else " (eager rows)"))
            for impl in group:
                if impl not in impls:
                    continue
                result = timed_runs(w, impl, impls[impl], CUDA_STEPS[w["name"]], rounds, CUDA_LABEL[impl])
                if result is not None:
                    summary[w["name"]][impl] = result

    log("\n== GPU: medians (%s) ==" % gpu_name)
    header = ["", "metric"] + [CUDA_LABEL[i] for i in CUDA_IMPLS if i in impls]
    header += ["eigennet/PyTorch graph", "eigennet/PyTorch eager", "eigennet/bound (speed)"]
    rows, ratios = [], {}
    for w in workloads:
        s = summary[w["name"]]
        row = [w["name"], w["metric"]] + [fmt(s[i]["median"], w["metric"]) if i in s else "—"
                                          for i in CUDA_IMPLS if i in impls]
        e = s.get("eigennet-cuda")
        for other in ("torch-cuda-graph", "torch-cuda-eager"):
            if e and other in s:
                ratios[(w["name"], other)] = e["median"] / s[other]["median"]
                row.append("%.2f" % ratios[(w["name"], other)])
            else:
                row.append("—")
        if e and "cublas-gemm" in s:
            ratios[(w["name"], "cublas-gemm")] = speed_ratio(w, e["median"], s["cublas-gemm"]["median"])
            row.append("%.2f" % ratios[(w["name"], "cublas-gemm")])
        else:
            row.append("—")
        rows.append(row)
    log(table(rows, header))
    log("eigennet/PyTorch is in the workload's metric: for s/epoch (W3) a ratio of times (lower is better), "
        "otherwise of speeds.")
    log("eigennet/bound = eigennet's speed / the speed of a step made of its cuBLAS GEMMs alone (graph-captured).")
    log("Every row: float32 without TF32 (W5 float64); training set on the GPU; batch indices drawn on the host and "
        "uploaded each step.")

    log("\n== Targets (issue 11), on %s ==" % gpu_name)
    for name, against, op, threshold in CUDA_TARGETS:
        if not any(w["name"] == name for w in workloads):
            continue
        value = ratios.get((name, against))
        what = "eigennet/%s" % CUDA_LABEL[against]
        if value is None:
            log("  %s %s %s %.2f: not measured (a run was skipped)" % (name, what, op, threshold))
            continue
        met = value >= threshold if op == ">=" else value <= threshold
        log("  %s %s %s %.2f: %.2f  %s" % (name, what, op, threshold, value, "PASS" if met else "MISS"))

    # 2. The crossover of the host-pointer backend, product by product.
    host_threads = args.host_threads
    log("\n== Host-pointer backend: crossover (cuda-gemm-crossover, CPU side %d threads) ==" % host_threads)
    if not os.path.isfile(crossover):
        log("  skipped (%s not built)" % crossover)
    elif over_budget():
        log("  skipped — over the time budget")
    else:
        try:
            p = subprocess.run([crossover, "--threads", str(host_threads)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=args.timeout)
            for line in p.stdout.splitlines():
                if line.startswith("{"):
                    try:
                        raw.append(json.loads(line))
                    except ValueError:
                        pass
                else:
                    log("  " + line)
            if p.returncode != 0:
                log("  cuda-gemm-crossover: exit %d: %s" % (p.returncode, p.stderr.strip()[-500:]))
        except subprocess.TimeoutExpired:
            log("  cuda-gemm-crossover: timed out after %d s" % args.timeout)

    # 3. The host-pointer rows: the CPU training loop, products placed by measuring (the default) or
    #    from min_flops on, on the GPU.
    log("\n== Host-pointer backend: the CPU training loop with cuda_gemm_backend() and cuda_gemm_backend(min_flops), "
        "%d threads ==" % host_threads)
    sweep = sorted(set(float(v) for v in args.sweep.split(",") if v))
    host_rows = []
    for w in workloads:
        steps = dict(warmup=w["warmup"], steps=w["steps"], blocks=w["blocks"])
        log("\n%s (host)" % w["name"])
        cpu = timed_runs(w, "eigennet-cpu", [bench, "--threads", str(host_threads)], steps, 1,
                         "CPU only (the planner)")
        # Sweep values that send the same products to the GPU give the same run: one run each.
        groups, cpu_only_values = [], []
        for v in sweep:
            on_gpu = products_on_gpu(w, v)
            if on_gpu[0] == 0:
                cpu_only_values.append(v)  # the same as the CPU alone
                continue
            for g in groups:
                if g["on_gpu"] == on_gpu:
                    g["values"].append(v)
                    break
            else:
                groups.append(dict(on_gpu=on_gpu, values=[v]))
        row_base = [w["name"], w["metric"]]
        total = products_on_gpu(w, float("inf"))[1]
        same = ", ".join("%g" % v for v in cpu_only_values)
        host_rows.append(row_base + ["CPU only" + (" (= %s)" % same if same else ""), "0 of %d" % total,
                                     fmt(cpu["median"], w["metric"]) if cpu else "—", "1.00" if cpu else "—"])
        # The default: cuda_gemm_backend() measures where each product runs.
        measured = timed_runs(w, "eigennet-hostptr-measured", [bench, "--threads", str(host_threads), "--gemm",
                                                                 "cuda"], steps, 1, "measured per product")
        on_gpu = "%.3g of %d" % (measured["device_products_per_step"], total) if measured else "—"
        host_rows.append(row_base + ["measured (default)", on_gpu,
                                     fmt(measured["median"], w["metric"]) if measured else "—",
                                     "%.2f" % speed_ratio(w, measured["median"], cpu["median"]) if measured and cpu
                                     else "—"])
        for g in groups:
            values = ", ".join("%g" % v for v in g["values"])
            label = "min_flops %s" % values
            result = timed_runs(w, "eigennet-hostptr", [bench, "--threads", str(host_threads), "--gemm", "cuda",
                                                        "--cuda-min-flops", "%g" % g["values"][0]], steps, 1, label)
            host_rows.append(row_base + [values, "%d of %d" % g["on_gpu"],
                                         fmt(result["median"], w["metric"]) if result else "—",
                                         "%.2f" % speed_ratio(w, result["median"], cpu["median"]) if result and cpu
                                         else "—"])
    log("")
    log(table(host_rows, ["", "metric", "min_flops", "products on the GPU", "median", "speed vs CPU only"]))
    log("measured: cuda_gemm_backend() times each product both ways on its first call and runs it where it was "
        "faster (products on the GPU: per step, in the timed steps); min_flops X: cuda_gemm_backend(X), a product "
        "goes to the GPU when 2·m·n·k >= X. The copies in and out are part of a GPU product's time.")

    log("\n%s; total %.0f s" % (load_line(), time.time() - started))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
