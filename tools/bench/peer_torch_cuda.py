"""PyTorch CUDA peer of `eigennet-bench --device cuda`: the same MLP training step on the GPU, the
way a competent PyTorch user writes it, in two modes:

  --mode eager   nn.Sequential(nn.Linear, nn.ReLU, ...), F.cross_entropy, torch.optim.SGD,
                 zero_grad(set_to_none=True), backward, step — each op launched from Python;
  --mode graph   the same step captured once in a CUDA graph (torch.cuda.CUDAGraph, the
                 "whole network capture" of PyTorch's CUDA-graph notes: warm-up on a side stream,
                 zero_grad(set_to_none=True), then forward, loss, backward and optimizer.step()
                 inside torch.cuda.graph) and replayed each step.

The training set lives on the GPU (uploaded once); each step the host draws the batch's indices
exactly as eigennet-bench and the CPU peers do (numpy's legacy RandomState: randint with
replacement, or a permutation per epoch; peer_common) and copies them to the device
(non_blocking from pageable memory, as eigennet's DeviceNetwork::step does); the gather is a GPU
index_select — inside the graph in graph mode (into a static index tensor). The loss is checked
for NaN/Inf on the device every step (a counter in the graph) and read at each block's end, where
torch.cuda.synchronize() closes the block's time. float32 products run in full precision
(torch.set_float32_matmul_precision("highest"): no TF32) unless --tf32.

Same command line and JSON line as eigennet-bench; --threads is accepted and ignored. Without a
usable GPU (torch.cuda.is_available() False) it exits 1 saying so.

  python3 tools/bench/peer_torch_cuda.py --mode graph --layers 784,1000,10 --batch 40 --random-data
"""

import math
import os
import sys
import time

import peer_common

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # run.py checks first; this is for direct use
    peer_common.fail("torch and numpy must be importable with %s (%s)" % (sys.executable, e))


def add_mode_args(p):
    p.add_argument("--mode", choices=["eager", "graph"], default="graph",
                   help="eager: ops launched from Python each step; graph: the whole step in one CUDA graph")
    p.add_argument("--tf32", action="store_true", help="TF32 in float32 products (default: full float32)")
    p.add_argument("--device", default="cuda", help="(accepted for a common command line; always cuda)")


def main():
    args = peer_common.parse_args("PyTorch CUDA peer of eigennet-bench --device cuda", add_mode_args)
    if not torch.cuda.is_available():
        peer_common.fail("no usable GPU: torch %s (built for CUDA %s) says torch.cuda.is_available() is False"
                         % (torch.__version__, torch.version.cuda))
    device = torch.device("cuda")
    torch.set_float32_matmul_precision("high" if args.tf32 else "highest")
    x_np, labels_np, source = peer_common.load_training_set(np, args)
    n = x_np.shape[0]
    if args.mode == "graph" and args.rule == "epochs" and n % args.batch:
        peer_common.fail("--mode graph with --rule epochs needs the training set (%d) to be a multiple of the batch "
                         "(%d): one graph is captured for one batch size" % (n, args.batch))
    dtype = torch.float32 if args.dtype == "float32" else torch.float64
    torch.manual_seed(args.seed)
    modules = []
    for i, (fan_in, fan_out) in enumerate(zip(args.layers[:-1], args.layers[1:])):
        linear = torch.nn.Linear(fan_in, fan_out, dtype=dtype, device=device)
        with torch.no_grad():  # He initialisation, bias 0 (as eigennet-bench)
            linear.weight.normal_(0.0, math.sqrt(2.0 / fan_in))
            linear.bias.zero_()
        modules.append(linear)
        if i + 2 < len(args.layers):
            modules.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*modules)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    x_all = torch.from_numpy(x_np).to(device)
    labels_all = torch.from_numpy(labels_np).to(device)
    nonfinite = torch.zeros((), dtype=torch.int32, device=device)  # steps whose loss was NaN/Inf
    static_idx = torch.zeros(args.batch, dtype=torch.int64, device=device)

    def upload(indices):
        """The batch's indices into static_idx (pageable → device, asynchronous for the host)."""
        host = torch.from_numpy(np.asarray(indices, dtype=np.int64))
        static_idx[: host.shape[0]].copy_(host, non_blocking=True)
        return host.shape[0]

    def forward_backward_update(count):
        idx = static_idx if count == args.batch else static_idx[:count]
        x = x_all.index_select(0, idx)
        y = labels_all.index_select(0, idx)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        nonfinite.add_((~torch.isfinite(loss.detach())).to(torch.int32))
        return loss

    rng = np.random.RandomState(args.seed + 2)

    def batches_of_epoch():
        order = rng.permutation(n)
        return [order[i:i + args.batch] for i in range(0, n, args.batch)]

    if args.rule == "epochs":
        warmup_draws = batches_of_epoch()[: args.warmup]
    else:
        warmup_draws = [rng.randint(0, n, size=args.batch, dtype=np.int32) for _ in range(args.warmup)]

    last_loss = [None]
    if args.mode == "eager":
        def step(indices):
            count = upload(indices)
            optimizer.zero_grad(set_to_none=True)
            last_loss[0] = forward_backward_update(count)

        for indices in warmup_draws:
            step(indices)
    else:
        # Whole-network capture (PyTorch's CUDA-graph notes): warm up on a side stream (cuBLAS
        # handles and workspaces, the autograd engine), then capture on that same stream with the
        # gradients set to None, so backward allocates them from the graph's pool and every
        # replay writes (not accumulates) them.
        if len(warmup_draws) < 3:
            peer_common.fail("--mode graph needs --warmup >= 3 (the side-stream warm-up before the capture)")
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for indices in warmup_draws[:3]:
                count = upload(indices)
                optimizer.zero_grad(set_to_none=True)
                forward_backward_update(count)
        torch.cuda.current_stream().wait_stream(side)
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        optimizer.zero_grad(set_to_none=True)
        with torch.cuda.graph(graph, stream=side):
            static_loss = forward_backward_update(args.batch)
        torch.cuda.synchronize()
        last_loss[0] = static_loss

        def step(indices):
            upload(indices)
            graph.replay()

        for indices in warmup_draws[3:]:
            step(indices)
    torch.cuda.synchronize()

    def check(number):
        bad = int(nonfinite.item())
        if bad:
            peer_common.fail("training diverged: %d step(s) up to step %d had a NaN/Inf loss (learning rate %g)"
                             % (bad, number, args.lr), 2)

    number = len(warmup_draws)
    check(number)
    seconds = []
    steps_per_block = args.steps
    for _ in range(args.blocks):
        start = time.perf_counter()
        if args.rule == "epochs":
            batches = batches_of_epoch()
            steps_per_block = len(batches)
            for indices in batches:
                step(indices)
        else:
            for _ in range(args.steps):
                step(rng.randint(0, n, size=args.batch, dtype=np.int32))
        torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
        number += steps_per_block
        check(number)

    loss = float(last_loss[0].item()) if last_loss[0] is not None else float("nan")
    name = torch.cuda.get_device_name(0)
    backend = "torch %s, CUDA %s, %s%s" % (torch.__version__, torch.version.cuda,
                                           "whole step in a CUDA graph" if args.mode == "graph" else "eager",
                                           ", TF32" if args.tf32 else "")
    peer_common.report("torch-cuda-" + args.mode, args, seconds, steps_per_block, loss, source, backend,
                       extra={"device": name})


if __name__ == "__main__":
    main()
