#!/usr/bin/python3
"""numpy reference of train-mnist's `notebook-mlp` recipe: the notebook's MLP, step by step.

The procedure, followed to the letter:
  - rng = np.random.RandomState(42); W1 = rng.normal(0, 0.01, (785, 1000)), then
    W2 = rng.normal(0, 0.01, (1001, 10)): row-major, the bias as the last row;
  - pixels / 255 in float64, then whole-set normalisation: each set (train, test) minus its own
    mean, divided by its own std (over all its pixels);
  - forward: relu([X, 1] @ W1), then [H, 1] @ W2, softmax (row max subtracted);
    loss -mean(sum(Y * log(P + 1e-7))); gradient of the logits (P - Y) / N, as the notebook;
  - SGD, lr 1e-2, batch 40, 400 iterations; each iteration draws its batch with
    rng.randint(0, 60000, size=40, dtype=np.int32) from the same RandomState, right after the
    weights (--batch-mode first: the first 40 samples every step, the notebook before its
    batches were randomised);
  - test accuracy (arg-max of P against the labels) every 10 iterations and after the last.

It reads the four IDX .gz (or raw) files itself. Its last line is `test accuracy: NN.NN%`.
Run it with Debian's numpy:  /usr/bin/python3 tests/reference/notebook_mlp.py --data DIR
"""
import argparse
import os
import sys
import time

import numpy as np

from idx_files import read_idx


def whole_set_normalise(pixels):
    x = pixels.reshape(-1, 784).astype(np.float64) / 255.0
    return (x - x.mean()) / x.std()


def one_hot(labels):
    y = np.zeros((labels.size, 10))
    y[np.arange(labels.size), labels] = 1
    return y


def with_ones(x):
    return np.hstack([x, np.ones((x.shape[0], 1))])


def forward(x, W1, W2):
    a1 = with_ones(x) @ W1
    h = np.maximum(a1, 0)
    z = with_ones(h) @ W2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return a1, h, e / e.sum(axis=1, keepdims=True)


def test_accuracy(x, labels, W1, W2):
    _, _, p = forward(x, W1, W2)
    return np.mean(np.argmax(p, axis=1) == labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("EIGENNET_MNIST_DIR", "data/mnist"),
                        help="folder with the MNIST IDX files (default: $EIGENNET_MNIST_DIR)")
    parser.add_argument("--batch-mode", choices=["random", "first"], default="random")
    parser.add_argument("--iters", type=int, default=400)
    parser.add_argument("--batch", type=int, default=40)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--test-every", type=int, default=10, help="0: after the last iteration only")
    parser.add_argument("--losses", help="write the loss of every step to this file, one per line")
    args = parser.parse_args()

    train_x = whole_set_normalise(read_idx(args.data, "train-images-idx3-ubyte", 16))
    train_labels = read_idx(args.data, "train-labels-idx1-ubyte", 8).astype(np.int64)
    test_x = whole_set_normalise(read_idx(args.data, "t10k-images-idx3-ubyte", 16))
    test_labels = read_idx(args.data, "t10k-labels-idx1-ubyte", 8).astype(np.int64)
    train_y = one_hot(train_labels)

    rng = np.random.RandomState(args.seed)
    W1 = rng.normal(0, 0.01, (785, 1000))
    W2 = rng.normal(0, 0.01, (1001, 10))

    start = time.time()
    losses = []
    accuracy = float("nan")
    for i in range(args.iters):
        if args.batch_mode == "random":
            idx = rng.randint(0, 60000, size=args.batch, dtype=np.int32)
        else:
            idx = np.arange(args.batch)
        x, y = train_x[idx], train_y[idx]
        n = x.shape[0]

        a1, h, p = forward(x, W1, W2)
        loss = -np.mean(np.sum(y * np.log(p + 1e-7), axis=1))
        if not np.isfinite(loss):
            sys.exit(f"notebook_mlp.py: loss is {loss} at step {i + 1}")
        losses.append(loss)

        dz = (p - y) / n                  # softmax + cross-entropy, as the notebook
        dW2 = with_ones(h).T @ dz
        dh = dz @ W2[:-1].T               # the bias row does not reach h
        da1 = dh * (a1 > 0)               # ReLU mask
        dW1 = with_ones(x).T @ da1
        W1 -= args.lr * dW1
        W2 -= args.lr * dW2

        step = i + 1
        if (args.test_every > 0 and step % args.test_every == 0) or step == args.iters:
            accuracy = test_accuracy(test_x, test_labels, W1, W2)
            print(f"step {step}/{args.iters}  loss {loss:.4f}  test acc {100 * accuracy:6.2f}%"
                  f"  {time.time() - start:.1f} s", flush=True)

    if args.losses:
        np.savetxt(args.losses, np.array(losses), fmt="%.17g")
    print(f"trained {args.iters} steps in {time.time() - start:.2f} s")
    print(f"test accuracy: {100 * accuracy:.2f}%")


if __name__ == "__main__":
    main()
