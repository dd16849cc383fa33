#!/usr/bin/python3
"""The notebook CNN's training step, eigennet beside PyTorch (CPU), in one run.

Both sides run the same step on the same shapes with the same thread count: draw the batch
indices (numpy RandomState randint with replacement, as the notebook), gather the rows, forward
(conv 5×5 1→10 → ReLU → max-pool 2 ceil → dense 1440→10), softmax cross-entropy (checked for
NaN/Inf), backward, SGD update (lr 0.01). Inputs are random normal(0, 1): a step's cost does not
depend on the pixel values. `--model lenet` times the lenet recipe's network instead.

eigennet's side is the bench-cnn program (tools/bench_cnn.cpp) from a build folder; PyTorch's
runs here. The two alternate for --rounds rounds (eigennet, torch, eigennet, torch, ...), so a
machine shared with other work disturbs both alike; each round times --blocks blocks of --steps
steps after --warmup steps. The table gives the median and best ms/step over all blocks, and
the ratio PyTorch / eigennet (above 1: eigennet is faster).

    /usr/bin/python3 tools/bench_cnn.py --build-dir build --threads 2
(Debian's /usr/bin/python3 has numpy and torch; `ninja -C build tools/bench-cnn` first.)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build-dir", default="build", help="meson build folder holding tools/bench-cnn")
    p.add_argument("--model", choices=["notebook", "lenet"], default="notebook")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--batch", type=int, default=40)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--blocks", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def run_eigennet(args):
    program = os.path.join(args.build_dir, "tools", "bench-cnn")
    if not os.path.exists(program):
        sys.exit("bench_cnn.py: %s not found (build it: ninja -C %s tools/bench-cnn)" % (program, args.build_dir))
    command = [program, "--model", args.model, "--dtype", args.dtype, "--batch", str(args.batch), "--threads",
               str(args.threads), "--warmup", str(args.warmup), "--steps", str(args.steps), "--blocks",
               str(args.blocks), "--seed", str(args.seed)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit("bench_cnn.py: %s failed:\n%s%s" % (" ".join(command), done.stdout, done.stderr))
    return json.loads(done.stdout.strip().splitlines()[-1])


class TorchStep:
    """The same training step in PyTorch, parameters drawn as bench-cnn draws them (the values do
    not matter for timing; the shapes do)."""

    def __init__(self, args, np, torch):
        self.np, self.torch, self.F = np, torch, torch.nn.functional
        self.dtype = {"float32": torch.float32, "float64": torch.float64}[args.dtype]
        self.rng = np.random.RandomState(args.seed)
        self.batch = args.batch
        self.pool_size = 4096
        if args.model == "notebook":
            shapes = [(10, 1, 5, 5), (10,), (1440, 10), (10,)]
        else:
            shapes = [(20, 1, 5, 5), (20,), (50, 20, 5, 5), (50,), (800, 500), (500,), (500, 10), (10,)]
        self.params = [torch.tensor(self.rng.normal(0, 0.05, size=s), dtype=self.dtype, requires_grad=True)
                       for s in shapes]
        self.x = torch.tensor(self.rng.normal(0, 1, size=(self.pool_size, 1, 28, 28)), dtype=self.dtype)
        self.labels = torch.from_numpy(self.rng.randint(0, 10, size=self.pool_size).astype(np.int64))
        self.model = args.model

    def logits(self, x):
        F, p = self.F, self.params
        if self.model == "notebook":
            h = F.max_pool2d(F.relu(F.conv2d(x, p[0], p[1])), 2, stride=2, ceil_mode=True)
            return self.torch.flatten(h, 1) @ p[2] + p[3]
        h = F.max_pool2d(F.relu(F.conv2d(x, p[0], p[1])), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, p[2], p[3])), 2)
        h = F.relu(self.torch.flatten(h, 1) @ p[4] + p[5])
        return h @ p[6] + p[7]

    def __call__(self):
        torch = self.torch
        index = torch.from_numpy(self.rng.randint(0, self.pool_size, size=self.batch, dtype=self.np.int32).astype(
            self.np.int64))
        loss = self.F.cross_entropy(self.logits(self.x[index]), self.labels[index])
        if not torch.isfinite(loss):
            sys.exit("bench_cnn.py: PyTorch loss is %s: diverged" % float(loss))
        for p in self.params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in self.params:
                p -= 0.01 * p.grad


def run_torch(args, step):
    for _ in range(args.warmup):
        step()
    blocks = []
    for _ in range(args.blocks):
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        blocks.append(1000 * (time.perf_counter() - start) / args.steps)
    return blocks


def main():
    args = parse_args()
    try:
        import numpy as np
        import torch
    except ImportError as e:
        sys.exit("bench_cnn.py: needs numpy and torch (Debian: /usr/bin/python3 with python3-torch): %s" % e)
    torch.set_num_threads(args.threads)
    step = TorchStep(args, np, torch)
    eigennet_blocks, torch_blocks, parameters, backend = [], [], None, "?"
    for round_index in range(args.rounds):
        result = run_eigennet(args)
        eigennet_blocks += result["ms_per_step_blocks"]
        parameters = result["parameters"]
        backend = result.get("gemm_backend", "?")
        torch_blocks += run_torch(args, step)
        print("round %d/%d: eigennet %.3f ms/step, PyTorch %.3f ms/step (block medians)" %
              (round_index + 1, args.rounds, statistics.median(result["ms_per_step_blocks"]),
               statistics.median(torch_blocks[-args.blocks:])), file=sys.stderr)

    torch_parameters = sum(p.numel() for p in step.params)
    if parameters != torch_parameters:
        sys.exit("bench_cnn.py: the two models differ: eigennet %s parameters, PyTorch %d" % (parameters,
                                                                                          torch_parameters))
    e_med, t_med = statistics.median(eigennet_blocks), statistics.median(torch_blocks)
    print("%s CNN training step (%d parameters), batch %d, %s, %d thread%s; %d blocks of %d steps each:" %
          (args.model, parameters, args.batch, args.dtype, args.threads, "" if args.threads == 1 else "s",
           len(eigennet_blocks), args.steps))
    print("  %-34s %12s %12s" % ("", "median ms", "best ms"))
    print("  %-34s %12.3f %12.3f" % ("eigennet (gemm: %s)" % backend, e_med, min(eigennet_blocks)))
    print("  %-34s %12.3f %12.3f" % ("PyTorch %s CPU" % torch.__version__, t_med, min(torch_blocks)))
    print("ratio PyTorch/eigennet: %.2f (median), %.2f (best)  [> 1: eigennet faster]" %
          (t_med / e_med, min(torch_blocks) / min(eigennet_blocks)))


if __name__ == "__main__":
    main()
