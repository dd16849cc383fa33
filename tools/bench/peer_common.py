"""What the Python peers (peer_torch.py, peer_numpy.py) share: eigennet-bench's command line,
the MNIST training set, the batch draws and the timing loop, and the one JSON line they print.

A step is the same as in eigennet-bench: next batch indices, gather the rows, forward, loss
(checked for NaN/Inf), backward, SGD update. The batch draws are numpy's legacy RandomState,
as eigennet's BatchSampler: randint(0, N, size=B) per step (rule random), or permutation(N)
per epoch (rule epochs; a timed block is one whole epoch).

Thread counts must be fixed before numpy/torch load OpenBLAS, so the peers read --threads
from the command line and set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS first (set_thread_env).
"""

import argparse
import gzip
import json
import math
import os
import resource
import sys
import time


def parse_args(description, add_arguments=None):
    """eigennet-bench's command line; add_arguments(parser), if given, adds a peer's own options."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--layers", default="784,1000,10", help="layer sizes, ReLU between dense layers")
    p.add_argument("--batch", type=int, default=40)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--rule", choices=["random", "epochs"], default="random")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--blocks", type=int, default=7)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", default="", help="MNIST folder (default: $EIGENNET_MNIST_DIR)")
    p.add_argument("--random-data", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gemm", default="", help="(ignored; accepted for a common command line)")
    if add_arguments:
        add_arguments(p)
    args = p.parse_args()
    try:
        args.layers = [int(v) for v in args.layers.split(",")]
    except ValueError:
        p.error("--layers: '%s' is not a comma-separated list of integers" % args.layers)
    if len(args.layers) < 2 or min(args.layers) <= 0:
        p.error("--layers needs at least two positive sizes, got %s" % args.layers)
    if args.batch <= 0 or args.threads <= 0 or args.blocks <= 0 or args.steps <= 0 or args.warmup < 0:
        p.error("--batch, --threads, --blocks, --steps must be positive and --warmup non-negative")
    return args


def set_thread_env(argv):
    """Sets the BLAS/OpenMP thread count from --threads before numpy or torch is imported."""
    threads = "1"
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            threads = argv[i + 1]
        elif a.startswith("--threads="):
            threads = a.split("=", 1)[1]
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = threads


def fail(message, code=1):
    print("%s: %s" % (os.path.basename(sys.argv[0]), message), file=sys.stderr)
    sys.exit(code)


def _read_idx(np, path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        fail("%s: not an unsigned-byte IDX file" % path)
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    count = 1
    for d in dims:
        count *= d
    if len(data) != 4 + 4 * ndim + count:
        fail("%s: %d payload bytes, expected %d for dims %s" % (path, len(data) - 4 - 4 * ndim, count, dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _find(folder, name):
    for candidate in (os.path.join(folder, name), os.path.join(folder, name + ".gz")):
        if os.path.isfile(candidate):
            return candidate
    return ""


def load_training_set(np, args):
    """(x: N×D array of pixels/255 in args.dtype, labels: N int64, source description)."""
    features, classes = args.layers[0], args.layers[-1]
    if args.random_data:
        rng = np.random.RandomState(args.seed + 1)
        x = rng.uniform(0.0, 1.0, size=(60000, features)).astype(args.dtype)
        labels = rng.randint(0, classes, size=60000).astype(np.int64)
        return x, labels, "random"
    folder = args.data or os.environ.get("EIGENNET_MNIST_DIR", "")
    if not folder:
        fail("no MNIST folder: pass --data DIR or set EIGENNET_MNIST_DIR (or use --random-data)")
    images = _find(folder, "train-images-idx3-ubyte")
    label_file = _find(folder, "train-labels-idx1-ubyte")
    if not images or not label_file:
        fail("%s: no train-images-idx3-ubyte[.gz] / train-labels-idx1-ubyte[.gz]" % folder)
    pixels = _read_idx(np, images)
    labels = _read_idx(np, label_file).astype(np.int64)
    x = pixels.reshape(pixels.shape[0], -1).astype(args.dtype) / np.dtype(args.dtype).type(255)
    if x.shape[1] != features:
        fail("--layers starts with %d inputs but %s has %d pixels per image" % (features, images, x.shape[1]))
    if x.shape[0] != labels.shape[0]:
        fail("%s has %d images but %s has %d labels" % (images, x.shape[0], label_file, labels.shape[0]))
    return x, labels, "mnist:" + folder


def time_training(np, args, n, step):
    """Runs args.warmup steps, then args.blocks timed blocks; step(indices) -> loss (float).
    Returns (seconds per block, steps per block, last loss)."""
    rng = np.random.RandomState(args.seed + 2)
    last = [float("nan")]

    def checked(indices, number):
        value = step(indices)
        if not math.isfinite(value):
            fail("training diverged at step %d: loss %r (learning rate %g)" % (number, value, args.lr), 2)
        last[0] = value

    def batches_of_epoch():
        order = rng.permutation(n)
        return [order[i:i + args.batch] for i in range(0, n, args.batch)]

    number = 0
    if args.rule == "epochs":
        for indices in batches_of_epoch()[: args.warmup]:
            number += 1
            checked(indices, number)
    else:
        for _ in range(args.warmup):
            number += 1
            checked(rng.randint(0, n, size=args.batch, dtype=np.int32), number)
    seconds = []
    steps_per_block = args.steps
    for _ in range(args.blocks):
        start = time.perf_counter()
        if args.rule == "epochs":
            batches = batches_of_epoch()
            steps_per_block = len(batches)
            for indices in batches:
                number += 1
                checked(indices, number)
        else:
            for _ in range(args.steps):
                number += 1
                checked(rng.randint(0, n, size=args.batch, dtype=np.int32), number)
        seconds.append(time.perf_counter() - start)
    return seconds, steps_per_block, last[0]


def report(impl, args, seconds, steps_per_block, last_loss, source, backend, extra=None):
    result = {
        "impl": impl,
        "threads": args.threads,
        "dtype": args.dtype,
        "gemm": backend,
        "steps_per_block": steps_per_block,
        "block_seconds": seconds,
        "timed_steps": steps_per_block * len(seconds),
        "allocations": None,
        "allocations_per_step": None,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "final_loss": last_loss,
        "data": source,
    }
    result.update(extra or {})
    print(json.dumps(result), flush=True)
