#!/usr/bin/python3
"""Weights to and from PyTorch for one train-mnist recipe (tools/eigennet_torch.py), on the dataset the
tests find (eigennet's find_dataset(): $EIGENNET_MNIST_DIR, the default MNIST folders, else Debian's
Fashion-MNIST; the helper eigennet_logits says which, and every run here reads those files).

eigennet → PyTorch: a short train-mnist run (--iters) saves a checkpoint; `eigennet_torch.py export`
turns it into a state_dict and prints the nn.Sequential; that printed code, run as it is, loads the
state_dict; on all test images (normalised as the recipe does) it gives eigennet's outputs (from
eigennet_logits: train-mnist's recipe, inputs and forward pass) within float tolerance, the same
predictions, and train-mnist's test accuracy.
PyTorch → eigennet: the recipe's nn.Sequential trained a few steps in PyTorch; `eigennet_torch.py
import` turns its state_dict into a checkpoint; `train-mnist --load … --eval-only` gives PyTorch's
test accuracy, and eigennet's outputs match PyTorch's.
Negative controls: a weight laid out the obvious wrong way (a dense weight reshaped instead of
transposed; a conv kernel with its two spatial axes swapped) must change the outputs far beyond the
tolerance and change predictions; a state_dict or checkpoint of another architecture is refused with
a message naming the tensor.
Exit 0 when every check holds, 1 otherwise (each failed check printed). A missing torch, dataset or
tool fails the test.
"""
import argparse
import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
import time

FAILURES = []


def check(condition, what):
    print("%s: %s" % ("ok" if condition else "FAILED", what))
    if not condition:
        FAILURES.append(what)
    return condition


def run(command, expect_success=True):
    """Runs a command line (list), returns (status, output); prints it."""
    start = time.time()
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    print("$ %s  [exit %d, %.1f s]" % (" ".join(command), result.returncode, time.time() - start))
    if expect_success and result.returncode != 0:
        print(result.output)
        sys.exit("FAILED: the command above exited %d" % result.returncode)
    return result.returncode, result.stdout


def final_accuracy(output):
    lines = [l for l in output.splitlines() if l.strip()]
    match = re.fullmatch(r"test accuracy: (\d+\.\d\d)%", lines[-1] if lines else "")
    if not match:
        sys.exit("FAILED: expected a last line `test accuracy: NN.NN%%`, got: %r" % (lines[-1] if lines else ""))
    return match.group(1)


def same_accuracy(a, b, near_ties):
    """Two accuracies printed as "%.2f" percent agree up to the images whose top two outputs are
    within rounding (near ties): those may go either way in one process and the other, since the
    GEMM kernels that a process's planner chooses round differently."""
    if a is None or b is None:
        return False
    return abs(float(a) - float(b)) <= 100.0 * int(near_ties.sum()) / len(near_ties) + 1e-9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--tool", required=True, help="tools/eigennet_torch.py")
    parser.add_argument("--train-mnist", required=True)
    parser.add_argument("--logits", required=True, help="the eigennet_logits helper")
    parser.add_argument("--reference-dir", required=True, help="tests/reference (idx_files.py)")
    parser.add_argument("--iters", type=int, default=30, help="train-mnist steps of the exported network")
    parser.add_argument("--torch-steps", type=int, default=30, help="PyTorch steps of the imported network")
    args = parser.parse_args()

    import numpy as np
    try:
        import torch
    except ImportError as e:
        sys.exit("FAILED: no torch for %s (%s): apt-get install python3-torch" % (sys.executable, e))
    sys.path[:0] = [os.path.dirname(os.path.abspath(args.tool)), args.reference_dir]
    import eigennet_torch as et
    from idx_files import read_idx
    torch.set_num_threads(1)
    torch.manual_seed(0)

    recipe = args.recipe
    arch = et.Architecture(recipe)
    dtype = et.RECIPES[recipe]["dtype"]
    torch_dtype = getattr(torch, dtype)
    # Outputs agree to rounding, relative to the largest output (logit) of the set. Measured on
    # Fashion-MNIST: float32 recipes 4e-7 to 7e-7 (sums in another order, up to 800 products per
    # output, a few layers), float64 ones up to 3.4e-11 (cancellation in notebook-mlp's 1000-wide
    # sums); the bounds leave a margin of 14× and 30×. A wrong layout moves them by ~0.4 to 1.
    relative_tolerance = 1e-5 if dtype == "float32" else 1e-9
    python = sys.executable
    tool = [python, args.tool]
    scratch_holder = tempfile.TemporaryDirectory(prefix="eigennet-torch-")
    scratch = scratch_holder.name
    path = lambda name: os.path.join(scratch, name)

    def eigennet_outputs(checkpoint):
        _, out = run([args.logits, "--recipe", recipe, "--load", checkpoint, "--out", path("outputs.npz")])
        directory = re.search(r"^directory: (.*)$", out, re.M).group(1)
        print(re.search(r"^dataset: .*$", out, re.M).group(0))
        with np.load(path("outputs.npz")) as npz:
            return npz["outputs"], directory

    def torch_outputs(model, x):
        with torch.no_grad():
            return torch.cat([model(x[i:i + 1000]) for i in range(0, len(x), 1000)]).numpy()

    def compare(name, reference, other, labels):
        """Largest output difference relative to the largest output; predictions; near ties."""
        scale = float(np.abs(reference).max())
        worst = float(np.abs(reference - other).max())
        tolerance = relative_tolerance * scale
        predicted_reference, predicted_other = reference.argmax(1), other.argmax(1)
        top2 = np.sort(reference, axis=1)[:, -2:]
        near_ties = top2[:, 1] - top2[:, 0] <= 2 * tolerance
        differ = predicted_reference != predicted_other
        print("%s: largest output difference %.3g (largest |output| %.3g, tolerance %.3g), %d of %d predictions "
              "differ (%d near ties), accuracy %.2f%% vs %.2f%%" %
              (name, worst, scale, tolerance, int(differ.sum()), len(labels), int(near_ties.sum()),
               100 * (predicted_reference == labels).mean(), 100 * (predicted_other == labels).mean()))
        return worst, tolerance, differ, near_ties

    # ---- eigennet → PyTorch ---------------------------------------------------------------------
    trained = path("trained.npz")
    # train-mnist and eigennet_logits find the dataset the same way (find_dataset, same environment).
    status, out = run([args.train_mnist, "--recipe", recipe, "--iters", str(args.iters), "--test-every", "0",
                       "--threads", "1", "--save", trained])
    eigennet_accuracy = final_accuracy(out)
    eigennet, directory = eigennet_outputs(trained)
    labels = read_idx(directory, "t10k-labels-idx1-ubyte", 8).astype(np.int64)
    x_test = torch.from_numpy(et.normalize(read_idx(directory, "t10k-images-idx3-ubyte", 16).reshape(-1, 784),
                                           recipe)).reshape((-1,) + arch.input_shape)
    check(x_test.dtype == torch_dtype, "inputs in the recipe's precision (%s)" % dtype)
    check(eigennet.shape == (len(labels), 10), "eigennet_logits gave one row of 10 outputs per test image")

    exported = path("trained.pt")
    status, printed = run(tool + ["export", "--recipe", recipe, trained, exported])
    print(printed)
    namespace = {"torch": torch, "nn": torch.nn}
    try:
        exec(printed, namespace)  # the printed instructions, as a user would paste them
    except Exception as e:
        check(False, "export's printed nn.Sequential and load_state_dict run as Python (%s: %s)" % (type(e).__name__, e))
        return
    model = namespace["model"].eval()
    check(str(model) == str(arch.sequential().to(torch_dtype)), "the printed nn.Sequential is the recipe's network")
    check(all(p.dtype == torch_dtype for p in model.parameters()), "the loaded parameters are %s" % dtype)
    torch_out = torch_outputs(model, x_test)
    worst, tolerance, differ, near_ties = compare("eigennet vs PyTorch (exported)", eigennet, torch_out, labels)
    check(worst <= tolerance, "exported: PyTorch's outputs within %.3g of eigennet's on all %d test images "
          "(largest difference %.3g)" % (tolerance, len(labels), worst))
    check(not (differ & ~near_ties).any(), "exported: the same prediction for every test image (but near ties)")
    torch_accuracy = "%.2f" % (100 * (torch_out.argmax(1) == labels).mean())
    check(same_accuracy(torch_accuracy, eigennet_accuracy, near_ties),
          "exported: PyTorch's test accuracy %s%% is train-mnist's %s%% (%d near ties may flip)" %
          (torch_accuracy, eigennet_accuracy, int(near_ties.sum())))
    check(float(np.abs(eigennet).max()) > 0 and len(set(eigennet.argmax(1))) > 1,
          "the outputs are not trivial (several classes predicted)")

    # Negative control: the plausible wrong layouts must be caught by the comparison above.
    state = torch.load(exported)
    first = [name for name in state if name.endswith(".weight")][0]
    wrong = dict(state)
    w = state[first]
    wrong[first] = w.transpose(2, 3).contiguous() if w.dim() == 4 else w.T.reshape(w.shape)
    layout = "kernel with its spatial axes swapped" if w.dim() == 4 else "W[:-1] reshaped instead of transposed"
    control = arch.sequential().to(torch_dtype).eval()
    control.load_state_dict(wrong)
    control_out = torch_outputs(control, x_test)
    c_worst, _, c_differ, _ = compare("negative control (%s, %s)" % (first, layout), eigennet, control_out, labels)
    check(c_worst > 100 * tolerance and c_differ.sum() > 0,
          "negative control: %s %s moves the outputs by %.3g (> 100× the tolerance) and changes %d predictions" %
          (first, layout, c_worst, int(c_differ.sum())))

    # ---- PyTorch → eigennet ---------------------------------------------------------------------
    net = arch.sequential().to(torch_dtype)
    x_train = torch.from_numpy(et.normalize(read_idx(directory, "train-images-idx3-ubyte", 16).reshape(-1, 784),
                                            recipe)).reshape((-1,) + arch.input_shape)
    y_train = torch.from_numpy(read_idx(directory, "train-labels-idx1-ubyte", 8).astype(np.int64))
    loss_fn = torch.nn.NLLLoss() if et.RECIPES[recipe].get("log_softmax") else torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    generator = torch.Generator().manual_seed(1)
    start = time.time()
    for _ in range(args.torch_steps):
        batch = torch.randint(0, len(y_train), (64,), generator=generator)
        optimizer.zero_grad()
        loss = loss_fn(net(x_train[batch]), y_train[batch])
        loss.backward()
        optimizer.step()
    net.eval()
    torch_out = torch_outputs(net, x_test)
    torch_accuracy = "%.2f" % (100 * (torch_out.argmax(1) == labels).mean())
    print("PyTorch: %d steps of SGD in %.1f s, last loss %.4f, test accuracy %s%%" %
          (args.torch_steps, time.time() - start, float(loss), torch_accuracy))
    saved = path("torch.pt")
    torch.save(net.state_dict(), saved)
    imported = path("imported.npz")
    status, printed = run(tool + ["import", "--recipe", recipe, saved, imported])
    print(printed)
    status, out = run([args.train_mnist, "--recipe", recipe, "--data", directory, "--load", imported, "--eval-only",
                       "--threads", "1"])
    eval_accuracy = final_accuracy(out)
    eigennet, _ = eigennet_outputs(imported)
    worst, tolerance, differ, near_ties = compare("PyTorch vs eigennet (imported)", torch_out, eigennet, labels)
    check(worst <= tolerance, "imported: eigennet's outputs within %.3g of PyTorch's on all %d test images "
          "(largest difference %.3g)" % (tolerance, len(labels), worst))
    check(not (differ & ~near_ties).any(), "imported: the same prediction for every test image (but near ties)")
    check(same_accuracy(eval_accuracy, torch_accuracy, near_ties),
          "imported: train-mnist --load --eval-only gives PyTorch's test accuracy (%s%% vs %s%%, %d near ties may "
          "flip)" % (eval_accuracy, torch_accuracy, int(near_ties.sum())))
    # Back again: export(import(state_dict)) is the same state_dict, bit for bit.
    with contextlib.redirect_stdout(io.StringIO()):
        again = et.export_checkpoint(arch, imported, path("again.pt"))
    original = net.state_dict()
    check(list(again) == list(original) and all(torch.equal(again[k], original[k]) for k in original),
          "PyTorch → eigennet → PyTorch gives the state_dict back bit for bit")

    # A state_dict or checkpoint of another architecture is refused, naming the tensor.
    other = {"notebook-mlp": "practical-mlp", "exercise-mlp": "practical-mlp", "practical-mlp": "notebook-mlp",
             "notebook-cnn": "lenet", "lenet": "notebook-cnn"}[recipe]
    # (Through et.main in this process: the tool's command line without a second start of torch;
    # test_eigennet_torch.py runs such refusals as processes.)
    for command, source, target in (("import", saved, path("refused.npz")), ("export", trained, path("refused.pt"))):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            status = et.main([command, "--recipe", other, source, target])
        out = out.getvalue()
        print("eigennet_torch.py %s --recipe %s %s %s  [exit %d]\n%s" % (command, other, source, target, status,
                                                                       out.strip()))
        named = re.search(r"'(\d+\.(weight|bias)|layer\d+\.\w+\.[Wb])'", out)
        check(status == 1 and named is not None and source in out and not os.path.exists(target),
              "%s of a %s file as %s is refused (exit %d), naming the file and the tensor %s, writing nothing" %
              (command, recipe, other, status, named.group(1) if named else "(none named)"))

    if FAILURES:
        print("\n%d check(s) FAILED:\n  %s" % (len(FAILURES), "\n  ".join(FAILURES)))
        sys.exit(1)
    print("all checks passed for %s" % recipe)


if __name__ == "__main__":
    main()
