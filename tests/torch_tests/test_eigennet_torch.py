#!/usr/bin/python3
"""tools/eigennet_torch.py run as a user runs it, on checkpoints and state_dicts made up here (no dataset).

For every recipe: a checkpoint of random values (float32 and float64) exported and imported back is
the same checkpoint, bit for bit and dtype for dtype; the exported tensors are the documented
mapping (dense: weight = W[:-1].T, bias = W[-1]; conv2d: W reshaped to (out, in, kh, kw), b to
(out,)); the printed code builds the recipe's nn.Sequential. Bad input is refused with exit 1 and a
message naming the file and the tensor, and nothing is written (an existing destination is left as
it was): another architecture (each recipe's file as each other recipe, and an MLP with other
--hidden), a missing tensor, an extra one, a wrong dtype, NaN, a file of another kind, a missing
file, a missing output folder, --hidden for a CNN. Exit 0 when every check holds, 1 otherwise.
"""
import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile

FAILURES = []


def check(condition, what):
    print("%s: %s" % ("ok" if condition else "FAILED", what))
    if not condition:
        FAILURES.append(what)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", required=True)
    args = parser.parse_args()
    import numpy as np
    try:
        import torch
    except ImportError as e:
        sys.exit("FAILED: no torch for %s (%s): apt-get install python3-torch" % (sys.executable, e))
    sys.path.insert(0, os.path.dirname(os.path.abspath(args.tool)))
    import eigennet_torch as et

    scratch_holder = tempfile.TemporaryDirectory(prefix="eigennet-torch-tool-")
    path = lambda name: os.path.join(scratch_holder.name, name)

    def tool(*argv):
        """The command line run as a process: exit status and everything printed."""
        result = subprocess.run([sys.executable, args.tool] + list(argv), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, universal_newlines=True)
        return result.returncode, result.stdout

    def tool_here(*argv):
        """The same command line through et.main in this process (no second start of torch)."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                status = et.main(list(argv))
            except SystemExit as e:  # argparse
                status = e.code
        return status, out.getvalue()

    def refused(argv, destination, *needles, process=False):
        """The command must exit 1, name every needle, and leave the destination as it was."""
        before = open(destination, "rb").read() if os.path.exists(destination) else None
        status, out = (tool if process else tool_here)(*argv)
        after = open(destination, "rb").read() if os.path.exists(destination) else None
        leftovers = [n for n in os.listdir(scratch_holder.name) if n.endswith(".tmp")]
        check(status == 1 and all(n in out for n in needles) and before == after and not leftovers,
              "refused (exit %d) naming %s, destination untouched, no temporary left: %s" %
              (status, ", ".join(repr(n) for n in needles), out.strip().splitlines()[-1] if out.strip() else "(no output)"))

    rng = np.random.RandomState(0)
    checkpoints = {}
    for recipe in et.RECIPES:
        arch = et.Architecture(recipe)
        for dtype in ("float32", "float64"):
            arrays = {name: rng.standard_normal(shape).astype(dtype) for name, shape in arch.eigennet_shapes().items()}
            source = path("%s-%s.npz" % (recipe, dtype))
            np.savez(source, **arrays)
            checkpoints[recipe, dtype] = source
            exported, back = path("%s-%s.pt" % (recipe, dtype)), path("%s-%s-back.npz" % (recipe, dtype))
            # One recipe through real processes, the others through et.main here (torch starts once).
            run = tool if (recipe, dtype) == ("lenet", "float32") else tool_here
            status, out = run("export", "--recipe", recipe, source, exported)
            check(status == 0, "%s %s: export runs (%s)" % (recipe, dtype, out.strip().splitlines()[-1]))
            state = torch.load(exported)
            # The mapping, tensor by tensor, from the arrays (not from the tool's own table): the
            # state_dict's tensors in order are each dense W's weight and bias, each conv W and b.
            keys = iter(state)
            mapping_ok = len(state) == len(arch.torch_shapes())
            for name, value in arrays.items():
                if ".dense." in name:
                    w, b = next(keys), next(keys)
                    mapping_ok &= w.endswith(".weight") and b.endswith(".bias")
                    mapping_ok &= np.array_equal(state[w].numpy(), value[:-1].T)
                    mapping_ok &= np.array_equal(state[b].numpy(), value[-1])
                elif name.endswith(".W"):
                    w = next(keys)
                    mapping_ok &= w.endswith(".weight") and state[w].dim() == 4
                    mapping_ok &= np.array_equal(state[w].numpy().reshape(value.shape), value)
                else:
                    b = next(keys)
                    mapping_ok &= b.endswith(".bias") and np.array_equal(state[b].numpy(), value[:, 0])
            mapping_ok &= all(t.dtype == getattr(torch, dtype) for t in state.values())
            check(mapping_ok, "%s %s: the state_dict is the documented mapping of the checkpoint, dtype kept" %
                  (recipe, dtype))
            # The printed code, run as it is, builds the recipe's network and loads the state_dict.
            namespace = {"torch": torch, "nn": torch.nn}
            try:
                exec(out, namespace)
                printed_ok = str(namespace["model"]) == str(arch.sequential())
            except Exception as e:
                printed_ok = False
                print("printed code failed: %s: %s" % (type(e).__name__, e))
            check(printed_ok, "%s %s: the printed code builds the recipe's nn.Sequential and loads the file" %
                  (recipe, dtype))
            status, out = run("import", "--recipe", recipe, exported, back)
            with np.load(back) as npz:
                same = sorted(npz.files) == sorted(arrays) and all(
                    npz[n].dtype == arrays[n].dtype and np.array_equal(npz[n], arrays[n]) for n in arrays)
            check(status == 0 and same, "%s %s: export then import gives the checkpoint back bit for bit" %
                  (recipe, dtype))

    # Another architecture: every recipe's checkpoint as every other recipe, both directions.
    for recipe in et.RECIPES:
        for other in et.RECIPES:
            if other == recipe:
                continue
            source = checkpoints[recipe, "float32"]
            expected = et.Architecture(other)
            first_e = next(iter(expected.eigennet_shapes()))
            refused(["export", "--recipe", other, source, path("x.pt")], path("x.pt"), source, first_e)
            refused(["import", "--recipe", other, source.replace(".npz", ".pt"), path("x.npz")], path("x.npz"),
                    source.replace(".npz", ".pt"), "'0.weight'")
    # Same recipe, other hidden widths: the first tensor that differs is named.
    practical = checkpoints["practical-mlp", "float32"]
    refused(["export", "--recipe", "practical-mlp", "--hidden", "64,16", practical, path("x.pt")], path("x.pt"),
            "'layer2.dense.W'", "expected shape 65×16", "found 65×32", process=True)
    refused(["import", "--recipe", "practical-mlp", "--hidden", "64,16", practical.replace(".npz", ".pt"),
             path("x.npz")], path("x.npz"), "'2.weight'", "expected shape 16×64", "found 32×64", process=True)

    # An existing destination is kept when the input is refused.
    with open(path("keep.pt"), "wb") as f:
        f.write(b"an existing file")
    refused(["export", "--recipe", "lenet", practical, path("keep.pt")], path("keep.pt"), "'layer0.conv2d.W'")

    arch = et.Architecture("practical-mlp")
    base = {n: rng.standard_normal(s).astype("float32") for n, s in arch.eigennet_shapes().items()}

    def variant(name, **changes):
        arrays = dict(base)
        for key, value in changes.items():
            key = key.replace("__", ".")
            if value is None:
                del arrays[key]
            else:
                arrays[key] = value
        np.savez(path(name), **arrays)
        return path(name)

    refused(["export", variant("missing.npz", layer2__dense__W=None), path("x.pt")], path("x.pt"),
            "no array 'layer2.dense.W'")
    refused(["export", variant("extra.npz", layer6__dense__W=np.zeros((11, 10), "float32")), path("x.pt")],
            path("x.pt"), "layer6.dense.W", "not in practical-mlp")
    nan = base["layer4.dense.W"].copy()
    nan[3, 4] = np.nan
    nan[0, 0] = np.inf
    refused(["export", variant("nan.npz", layer4__dense__W=nan), path("x.pt")], path("x.pt"),
            "'layer4.dense.W'", "2 of 330 entries are not finite")
    refused(["export", variant("int.npz", layer0__dense__W=np.zeros((785, 64), "int32")), path("x.pt")],
            path("x.pt"), "'layer0.dense.W'", "int32")
    with open(path("text.npz"), "w") as f:
        f.write("not an archive")
    refused(["export", path("text.npz"), path("x.pt")], path("x.pt"), path("text.npz"), "not a readable .npz")
    refused(["export", path("absent.npz"), path("x.pt")], path("x.pt"), path("absent.npz"), "no such file")
    refused(["export", practical, path("no-folder/x.pt")], path("no-folder/x.pt"), "no-folder", "does not exist")
    refused(["import", practical, path("x.npz")], path("x.npz"), practical, "not a readable PyTorch state_dict")
    refused(["export", "--recipe", "lenet", "--hidden", "10", practical, path("x.pt")], path("x.pt"),
            "recipe 'lenet' does not take --hidden")

    # state_dicts: a missing bias, an extra tensor, a non-state_dict object, NaN.
    state = torch.load(path("practical-mlp-float32.pt"))
    broken = dict(state)
    del broken["2.bias"]
    torch.save(broken, path("nobias.pt"))
    refused(["import", path("nobias.pt"), path("x.npz")], path("x.npz"), "no tensor '2.bias'")
    broken = dict(state, **{"5.weight": torch.zeros(3)})
    torch.save(broken, path("extra.pt"))
    refused(["import", path("extra.pt"), path("x.npz")], path("x.npz"), "'5.weight'", "not in practical-mlp")
    torch.save(dict(state, **{"0.weight": state["0.weight"].half()}), path("half.pt"))
    refused(["import", path("half.pt"), path("x.npz")], path("x.npz"), "'0.weight'", "torch.float16")
    torch.save([1, 2, 3], path("list.pt"))
    refused(["import", path("list.pt"), path("x.npz")], path("x.npz"), "expected a state_dict", "list")
    broken = dict(state)
    broken["4.bias"] = broken["4.bias"].clone()
    broken["4.bias"][2] = float("nan")
    torch.save(broken, path("nan.pt"))
    refused(["import", path("nan.pt"), path("x.npz")], path("x.npz"), "'4.bias'", "1 of 10 entries are not finite")
    umask = os.umask(0)
    os.umask(umask)
    mode = os.stat(path("practical-mlp-float32.pt")).st_mode & 0o777
    check(mode == 0o666 & ~umask, "outputs get the usual permissions (%o with umask %03o)" % (mode, umask))
    status, out = tool("export", "--help")
    check(status == 0 and "--recipe" in out and "--hidden" in out, "export --help lists its options")

    if FAILURES:
        print("\n%d check(s) FAILED:\n  %s" % (len(FAILURES), "\n  ".join(FAILURES)))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
