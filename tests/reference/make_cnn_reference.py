#!/usr/bin/python3
"""Reference numbers for eigennet's Conv2d and MaxPool2d, computed by PyTorch (CPU, float64).

Writes tests/reference/cnn_reference.txt, read by tests/cnn_tests/test_cnn.cpp:
  - forward and backward (dX, dW, db) of several convolutions and max-pools on fixed random
    inputs (numpy RandomState), with dY fixed too, so backward = autograd of sum(Y * dY);
  - output sizes of conv2d and max_pool2d (ceil_mode on and off) over a grid of sizes, kernels,
    strides and paddings, -1 where PyTorch refuses the configuration.

Run with Debian's interpreter (the one with numpy and torch):
    /usr/bin/python3 tests/reference/make_cnn_reference.py
Line format: "<case> <tensor> <rows> <cols> <values...>" (row-major, %.13g), "<case> params
<key>=<value>...", "convsize H k s p out" and "poolsize H k s p ceil out".
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cnn_reference.txt")
lines = []


def emit(case, name, array):
    a = np.asarray(array, dtype=np.float64)
    rows = a.shape[0]
    a = a.reshape(rows, -1)
    values = " ".join("%.13g" % v for v in a.ravel())
    lines.append("%s %s %d %d %s" % (case, name, a.shape[0], a.shape[1], values))


def conv_case(name, seed, n, c_in, h, w, c_out, kh, kw, stride, padding):
    rng = np.random.RandomState(seed)
    x = torch.tensor(rng.normal(0, 1, size=(n, c_in, h, w)), requires_grad=True)
    weight = torch.tensor(rng.normal(0, 0.5, size=(c_out, c_in, kh, kw)), requires_grad=True)
    bias = torch.tensor(rng.normal(0, 0.5, size=(c_out,)), requires_grad=True)
    y = F.conv2d(x, weight, bias, stride=stride, padding=padding)
    dy = torch.tensor(rng.normal(0, 1, size=tuple(y.shape)))
    (y * dy).sum().backward()
    lines.append("%s params C=%d H=%d W=%d out=%d kh=%d kw=%d stride=%d padding=%d" %
                 (name, c_in, h, w, c_out, kh, kw, stride, padding))
    emit(name, "x", x.detach().numpy())
    emit(name, "W", weight.detach().numpy().reshape(c_out, -1))
    emit(name, "b", bias.detach().numpy().reshape(c_out, 1))
    emit(name, "y", y.detach().numpy())
    emit(name, "dy", dy.numpy())
    emit(name, "dx", x.grad.numpy())
    emit(name, "dW", weight.grad.numpy().reshape(c_out, -1))
    emit(name, "db", bias.grad.numpy().reshape(c_out, 1))


def pool_case(name, seed, n, c, h, w, kernel, stride, padding, ceil_mode):
    rng = np.random.RandomState(seed)
    x = torch.tensor(rng.normal(0, 1, size=(n, c, h, w)), requires_grad=True)
    y = F.max_pool2d(x, kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    dy = torch.tensor(rng.normal(0, 1, size=tuple(y.shape)))
    (y * dy).sum().backward()
    lines.append("%s params C=%d H=%d W=%d kernel=%d stride=%d padding=%d ceil=%d" %
                 (name, c, h, w, kernel, stride, padding, int(ceil_mode)))
    emit(name, "x", x.detach().numpy())
    emit(name, "y", y.detach().numpy())
    emit(name, "dy", dy.numpy())
    emit(name, "dx", x.grad.numpy())


# The notebook's geometry (5×5 on 28×28, 2×2 pool on 24×24; fewer channels, to keep the file
# small), then odd shapes, strides, paddings, ceil_mode.
conv_case("conv-notebook", 1, 1, 1, 28, 28, 4, 5, 5, 1, 0)
conv_case("conv-s2-p2", 2, 3, 3, 9, 11, 4, 3, 5, 2, 2)
conv_case("conv-s1-p2", 3, 2, 2, 7, 7, 5, 3, 3, 1, 2)
conv_case("conv-s3-p1", 4, 2, 2, 8, 9, 3, 4, 4, 3, 1)
conv_case("conv-1x1", 5, 2, 6, 5, 3, 2, 1, 1, 1, 0)
pool_case("pool-notebook", 11, 1, 3, 24, 24, 2, 2, 0, True)
pool_case("pool-ceil-odd", 12, 2, 3, 7, 9, 2, 2, 0, True)
pool_case("pool-k3-s2-p1-ceil", 13, 2, 2, 9, 10, 3, 2, 1, True)
pool_case("pool-k3-s1-p1", 14, 2, 2, 8, 8, 3, 1, 1, False)
pool_case("pool-k3-s3-ceil", 15, 2, 2, 5, 7, 3, 3, 0, True)
pool_case("pool-k2-s1-floor", 16, 1, 2, 5, 6, 2, 1, 0, False)


def net_case(name, seed):
    """conv 1→3 (3×3) → ReLU → max-pool 2 (ceil) → flatten → linear 75→4: PyTorch's flatten order."""
    rng = np.random.RandomState(seed)
    x = torch.tensor(rng.normal(0, 1, size=(2, 1, 11, 11)))
    conv_w = torch.tensor(rng.normal(0, 0.5, size=(3, 1, 3, 3)))
    conv_b = torch.tensor(rng.normal(0, 0.5, size=(3,)))
    dense_w = rng.normal(0, 0.2, size=(75, 4))  # eigennet's layout: inputs × outputs, bias row last
    dense_b = rng.normal(0, 0.2, size=(4,))
    h = F.max_pool2d(F.relu(F.conv2d(x, conv_w, conv_b)), 2, stride=2, ceil_mode=True)
    logits = torch.flatten(h, 1) @ torch.tensor(dense_w) + torch.tensor(dense_b)
    lines.append("%s params conv=1x11x11->3(3x3) relu maxpool2ceil flatten(75) dense->4" % name)
    emit(name, "x", x.numpy())
    emit(name, "conv_W", conv_w.numpy().reshape(3, -1))
    emit(name, "conv_b", conv_b.numpy().reshape(3, 1))
    emit(name, "dense_W", np.vstack([dense_w, dense_b[None, :]]))
    emit(name, "logits", logits.numpy())


net_case("net-flatten", 21)

# Output sizes (square inputs; the rule is per axis).
for size in range(1, 13):
    for kernel in range(1, 6):
        for stride in range(1, 5):
            for padding in range(0, 4):
                x = torch.zeros(1, 1, size, size)
                try:
                    out = F.conv2d(x, torch.zeros(1, 1, kernel, kernel), stride=stride, padding=padding).shape[-1]
                except RuntimeError:
                    out = -1
                lines.append("convsize %d %d %d %d %d" % (size, kernel, stride, padding, out))
                for ceil_mode in (False, True):
                    try:
                        out = F.max_pool2d(x, kernel, stride=stride, padding=padding, ceil_mode=ceil_mode).shape[-1]
                    except RuntimeError:
                        out = -1
                    lines.append("poolsize %d %d %d %d %d %d" % (size, kernel, stride, padding, int(ceil_mode), out))

with open(out_path, "w") as f:
    f.write("# generated by make_cnn_reference.py with torch %s, numpy %s\n" % (torch.__version__, np.__version__))
    f.write("\n".join(lines) + "\n")
print("wrote %s (%d lines)" % (out_path, len(lines)), file=sys.stderr)
