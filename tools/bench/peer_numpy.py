"""numpy peer: the notebook's closed-form MLP training step, written as a competent numpy user
writes it (bias-augmented W of shape (D_in+1)×D_out with the bias in the last row, applied as
X @ W[:-1] + W[-1] rather than by concatenating a column of ones; stable softmax; the fused
gradient (P − Y)/N; ReLU mask; SGD). Same command line and JSON output as eigennet-bench.

Run with the interpreter that has numpy (Debian: /usr/bin/python3). numpy's matmul calls the
BLAS that libblas.so.3 points to (Debian: OpenBLAS, pthread build); --threads sets
OPENBLAS_NUM_THREADS before numpy is imported.
"""

import sys

import peer_common

peer_common.set_thread_env(sys.argv)

try:
    import numpy as np
except ImportError as e:  # the orchestrator checks first; this is for direct use
    peer_common.fail("numpy is not importable with %s (%s)" % (sys.executable, e))


def main():
    args = peer_common.parse_args("numpy peer of eigennet-bench (the notebook's closed-form MLP)")
    x_all, labels_all, source = peer_common.load_training_set(np, args)
    dtype = np.dtype(args.dtype).type
    rng = np.random.RandomState(args.seed)
    # He initialisation, bias 0 (as eigennet-bench).
    weights = []
    for fan_in, fan_out in zip(args.layers[:-1], args.layers[1:]):
        w = np.zeros((fan_in + 1, fan_out), dtype=dtype)
        w[:-1] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
        weights.append(w)
    lr = dtype(args.lr)
    last = len(weights) - 1

    def step(indices):
        x = x_all[indices]
        y = labels_all[indices]
        n = x.shape[0]
        rows = np.arange(n)
        # forward: inputs[i] is the input of dense layer i (ReLU outputs in between)
        inputs = [x]
        h = x
        for i, w in enumerate(weights):
            z = h @ w[:-1]
            z += w[-1]
            if i < last:
                h = np.maximum(z, 0)
                inputs.append(h)
        # softmax cross-entropy (log-sum-exp), and its fused gradient (P − Y)/N
        m = z.max(axis=1, keepdims=True)
        e = np.exp(z - m)
        s = e.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(s[:, 0]) + m[:, 0] - z[rows, y]))
        dz = e / s
        dz[rows, y] -= 1
        dz /= n
        # backward and update
        for i in range(last, -1, -1):
            w = weights[i]
            a = inputs[i]
            dw = a.T @ dz
            db = dz.sum(axis=0)
            if i > 0:
                da = dz @ w[:-1].T
                dz = da * (a > 0)  # ReLU mask: a is the ReLU output of layer i−1
            w[:-1] -= lr * dw
            w[-1] -= lr * db
        return loss

    seconds, steps_per_block, loss = peer_common.time_training(np, args, x_all.shape[0], step)
    backend = "numpy %s" % np.__version__
    peer_common.report("numpy", args, seconds, steps_per_block, loss, source, backend)


if __name__ == "__main__":
    main()
