"""PyTorch (CPU) peer: the same MLP training step the way a competent PyTorch user writes it:
nn.Sequential of nn.Linear and nn.ReLU, F.cross_entropy, torch.optim.SGD, zero_grad
(set_to_none), backward, step; batches by indexing tensors that hold the whole training set
(a DataLoader would only add overhead). Same command line and JSON output as eigennet-bench.

--bf16 (float32 only): forward and loss under torch.autocast("cpu", dtype=torch.bfloat16), as a
PyTorch user asks for bf16 on a CPU: the Linear layers' matmuls run on bf16 operands (Debian's
torch sends them to oneDNN 2.6.3), the parameters and SGD stay float32 (autocast casts the weights
each step), backward runs outside the context as autocast's documentation says.

Run with the interpreter that has torch (Debian: /usr/bin/python3). --threads sets
torch.set_num_threads and, before torch is imported, OMP_NUM_THREADS / OPENBLAS_NUM_THREADS
(Debian's torch calls OpenBLAS for its CPU GEMMs).
"""

import math
import sys

import peer_common

peer_common.set_thread_env(sys.argv)

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the orchestrator checks first; this is for direct use
    peer_common.fail("torch is not importable with %s (%s)" % (sys.executable, e))


def main():
    args = peer_common.parse_args(
        "PyTorch peer of eigennet-bench",
        lambda p: p.add_argument("--bf16", action="store_true",
                                 help='forward and loss under torch.autocast("cpu", dtype=torch.bfloat16)'))
    if args.bf16 and args.dtype != "float32":
        peer_common.fail("--bf16 is for --dtype float32 (autocast to bf16 from float32 parameters)")
    torch.set_num_threads(args.threads)
    x_np, labels_np, source = peer_common.load_training_set(np, args)
    dtype = torch.float32 if args.dtype == "float32" else torch.float64
    torch.manual_seed(args.seed)
    modules = []
    for i, (fan_in, fan_out) in enumerate(zip(args.layers[:-1], args.layers[1:])):
        linear = torch.nn.Linear(fan_in, fan_out, dtype=dtype)
        with torch.no_grad():  # He initialisation, bias 0 (as eigennet-bench)
            linear.weight.normal_(0.0, math.sqrt(2.0 / fan_in))
            linear.bias.zero_()
        modules.append(linear)
        if i + 2 < len(args.layers):
            modules.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*modules)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    x_all = torch.from_numpy(x_np)
    labels_all = torch.from_numpy(labels_np)

    def step(indices):
        idx = torch.from_numpy(np.asarray(indices, dtype=np.int64))
        x = x_all[idx]
        y = labels_all[idx]
        optimizer.zero_grad(set_to_none=True)
        if args.bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = F.cross_entropy(model(x), y)
        else:
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    seconds, steps_per_block, loss = peer_common.time_training(np, args, x_np.shape[0], step)
    backend = "torch %s (%d threads)" % (torch.__version__, torch.get_num_threads())
    if args.bf16:
        backend += ", bf16 autocast (mkldnn %s)" % ("on" if torch.backends.mkldnn.is_available() else "off")
    peer_common.report("torch", args, seconds, steps_per_block, loss, source, backend)


if __name__ == "__main__":
    main()
