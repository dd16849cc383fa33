"""W6's PyTorch side: the notebook CNN step exactly as the CNN bench writes it (TorchStep in
tools/bench_cnn.py: conv 5×5 1→10 → ReLU → max-pool 2 (ceil) → dense 1440→10, softmax
cross-entropy, SGD, random normal inputs), timed like the other peers and printed as one JSON
line of eigennet-bench's form. eigennet's side of W6 is the bench-cnn program.

    /usr/bin/python3 tools/bench/peer_torch_cnn.py --threads 1 --batch 40 --steps 50 --blocks 7
"""

import argparse
import os
import resource
import sys
import time
import json

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # tools/, for bench_cnn.py

import peer_common  # noqa: E402

peer_common.set_thread_env(sys.argv)


def main():
    p = argparse.ArgumentParser(description="PyTorch side of W6 (the notebook CNN step)")
    p.add_argument("--model", choices=["notebook", "lenet"], default="notebook")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--batch", type=int, default=40)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--blocks", type=int, default=7)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    try:
        import numpy as np
        import torch
    except ImportError as e:
        peer_common.fail("torch is not importable with %s (%s)" % (sys.executable, e))
    try:
        import bench_cnn
    except ImportError as e:
        peer_common.fail("tools/bench_cnn.py (the CNN bench) is missing: %s" % e)
    torch.set_num_threads(args.threads)
    step = bench_cnn.TorchStep(args, np, torch)
    for _ in range(args.warmup):
        step()
    seconds = []
    for _ in range(args.blocks):
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        seconds.append(time.perf_counter() - start)
    print(json.dumps({
        "impl": "torch", "threads": args.threads, "dtype": args.dtype,
        "gemm": "torch %s (%d threads)" % (torch.__version__, torch.get_num_threads()),
        "steps_per_block": args.steps, "block_seconds": seconds, "timed_steps": args.steps * args.blocks,
        "allocations": None, "allocations_per_step": None,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "data": "random",
    }), flush=True)


if __name__ == "__main__":
    main()
