#!/usr/bin/python3
"""PyTorch-CPU reference of train-mnist's `notebook-cnn` recipe: the notebook's CNN, step by step.

The procedure, followed to the letter, in float32:
  - rng = np.random.RandomState(42); from it, normal(0, 0.01) in this order: conv weight
    (10, 1, 5, 5), conv bias (10), dense weight (1440, 10), dense bias (10);
  - pixels / 255, then whole-set normalisation: each set (train, test) minus its own mean,
    divided by its own std (statistics in float64 over all its pixels, applied in float32);
  - forward: conv 5×5 1→10 (+bias) → ReLU → max-pool 2×2 stride 2 ceil_mode → flatten (1440,
    PyTorch's NCHW order) → x @ W + b; softmax cross-entropy (mean over the batch);
  - SGD, lr 1e-2, batch 40, 400 iterations; each iteration draws its batch with
    rng.randint(0, 60000, size=40, dtype=np.int32) from the same RandomState, after the weights;
  - test accuracy (arg-max of the logits against the labels) every --test-every iterations and
    after the last.
torch.set_num_threads(--threads, default 2). Its last line is `test accuracy: NN.NN%`.
--dtype float64 runs the same procedure (same float32 inputs and initial values, widened) in
double precision: the trajectory that float32 runs, eigennet's and PyTorch's, both approximate.
Run it with Debian's torch:  /usr/bin/python3 tests/reference/notebook_cnn_torch.py --data DIR
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from idx_files import read_idx


def whole_set_normalise(pixels):
    """pixels / 255 in float32, minus the set's mean, over its std (as eigennet's normalize_whole_set)."""
    x = pixels.reshape(-1, 784).astype(np.float32) / np.float32(255)
    mean, std = x.mean(dtype=np.float64), x.std(dtype=np.float64)
    return (x - np.float32(mean)) / np.float32(std)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("EIGENNET_MNIST_DIR", ""),
                        help="folder with the four MNIST IDX files (default: $EIGENNET_MNIST_DIR)")
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--test-every", type=int, default=10, help="0: test after the last step only")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--losses", default="", help="write the loss of every step to this file, one per line")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                        help="arithmetic of the run (float64: the float32 inputs and initial values, widened)")
    args = parser.parse_args()
    if not args.data:
        sys.exit("notebook_cnn_torch.py: give the MNIST folder with --data DIR (or set EIGENNET_MNIST_DIR)")
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)

    x_train = torch.from_numpy(whole_set_normalise(read_idx(args.data, "train-images-idx3-ubyte", 16))).to(dtype)
    y_train = torch.from_numpy(read_idx(args.data, "train-labels-idx1-ubyte", 8).astype(np.int64))
    x_test = torch.from_numpy(whole_set_normalise(read_idx(args.data, "t10k-images-idx3-ubyte", 16))).to(dtype)
    y_test = torch.from_numpy(read_idx(args.data, "t10k-labels-idx1-ubyte", 8).astype(np.int64))
    x_train, x_test = x_train.reshape(-1, 1, 28, 28), x_test.reshape(-1, 1, 28, 28)

    rng = np.random.RandomState(42)
    draw = lambda *shape: torch.tensor(rng.normal(0, 0.01, size=shape).astype(np.float32), dtype=dtype,
                                       requires_grad=True)
    conv_w, conv_b, dense_w, dense_b = draw(10, 1, 5, 5), draw(10), draw(1440, 10), draw(10)
    parameters = [conv_w, conv_b, dense_w, dense_b]

    def logits(x):
        h = F.max_pool2d(F.relu(F.conv2d(x, conv_w, conv_b)), 2, stride=2, ceil_mode=True)
        return torch.flatten(h, 1) @ dense_w + dense_b

    def test_accuracy():
        with torch.no_grad():
            right = sum(int((logits(x_test[i:i + 1000]).argmax(1) == y_test[i:i + 1000]).sum())
                        for i in range(0, len(y_test), 1000))
        return right / len(y_test)

    losses, accuracy = [], float("nan")
    start = time.time()
    for step in range(1, args.iterations + 1):
        batch = torch.from_numpy(rng.randint(0, 60000, size=40, dtype=np.int32).astype(np.int64))
        loss = F.cross_entropy(logits(x_train[batch]), y_train[batch])
        if not torch.isfinite(loss):
            sys.exit("notebook_cnn_torch.py: step %d: loss is %s (diverged)" % (step, float(loss)))
        for p in parameters:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in parameters:
                p -= 1e-2 * p.grad
        losses.append(float(loss))
        if step == args.iterations or (args.test_every > 0 and step % args.test_every == 0):
            accuracy = test_accuracy()
            print("step %d/%d  loss %.4f  test acc %6.2f%%  %.1f s" %
                  (step, args.iterations, losses[-1], 100 * accuracy, time.time() - start))
    if args.losses:
        with open(args.losses, "w") as f:
            f.write("".join("%.9g\n" % v for v in losses))
    print("trained %d steps in %.2f s (torch %s, %s, %d threads)" %
          (args.iterations, time.time() - start, torch.__version__, args.dtype, torch.get_num_threads()))
    print("test accuracy: %.2f%%" % (100 * accuracy))


if __name__ == "__main__":
    main()
