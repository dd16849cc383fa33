#!/usr/bin/python3
"""The cosine exercise in numpy, in the course's column-vector shapes, for denoise-cosine's test.

Draws exactly what denoise-cosine documents (np.random.RandomState(seed): W1 (hidden, n), b (hidden),
W2 (n, hidden), then n noise values per step, then n for the evaluation signal), trains by plain
gradient descent on the summed squared error, and prints the same lines as the tool:
  step K cost C   ...   MSE against the clean cosine: network output A, noisy input B
Usage: cosine_reference.py SAMPLES HIDDEN STEPS LR NOISE_STD INIT SEED
"""
import sys

import numpy as np

n, hidden, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
lr, noise_std, init, seed = float(sys.argv[4]), float(sys.argv[5]), sys.argv[6], int(sys.argv[7])

rng = np.random.RandomState(seed)
draw = (lambda shape: rng.normal(0, 0.5, shape)) if init == "normal" else (lambda shape: rng.uniform(-0.1, 0.1, shape))
W1 = draw((hidden, n))
b = draw(hidden)
W2 = draw((n, hidden))

period = (n - 1) / 3
t = 2 * np.pi * (np.arange(n) - (n - 1) / 2) / period
clean = np.cos(t)  # = cos(linspace(-3 pi, 3 pi, n)) up to rounding

def sigmoid(z):
    return 1 / (1 + np.exp(-z))

for step in range(1, steps + 1):
    x = clean + rng.normal(0, noise_std, n)
    h = sigmoid(W1 @ x + b)
    o = W2 @ h
    print(f"step {step} cost {np.sum((o - x) ** 2):.10g}")
    d_o = 2 * (o - x)                 # dC/do
    d_W2 = np.outer(d_o, h)
    d_z = (W2.T @ d_o) * h * (1 - h)  # through the sigmoid
    d_W1 = np.outer(d_z, x)
    W1 -= lr * d_W1
    b -= lr * d_z
    W2 -= lr * d_W2

x = clean + rng.normal(0, noise_std, n)
o = W2 @ sigmoid(W1 @ x + b)
mse_output, mse_noisy = np.mean((o - clean) ** 2), np.mean((x - clean) ** 2)
print(f"MSE against the clean cosine: network output {mse_output:.10g}, noisy input {mse_noisy:.10g}")
