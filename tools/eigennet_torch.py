#!/usr/bin/python3
"""eigennet ⇄ PyTorch: a train-mnist checkpoint as the state_dict of the equivalent nn.Sequential, and back.

  tools/eigennet_torch.py export [--recipe R] model.npz model.pt   # eigennet → PyTorch (prints the nn.Sequential)
  tools/eigennet_torch.py import [--recipe R] model.pt model.npz   # PyTorch → eigennet (train-mnist --load)

A checkpoint holds parameters only (train-mnist --save: layer0.dense.W, ...), not the layers between
them, so the network is named as train-mnist names it: --recipe (default practical-mlp, as
train-mnist), and for the MLP recipes --hidden and --activation. Every tensor is checked against
that network (name, shape, finite values) before anything is written; a mismatch is refused with a
message naming the file and the tensor. Outputs are written atomically (a temporary file in the
same folder, then os.replace).

The mapping (no values change, float32 stays float32, float64 stays float64):
  Dense   layerI.dense.W, (D_in+1)×D_out, bias in the last row  ⇄  nn.Linear weight = W[:-1].T (D_out, D_in),
                                                                   bias = W[-1] (D_out)
  Conv2d  layerI.conv2d.W, C_out×(C_in·kh·kw), each row a kernel in (c, u, v) order  ⇄  nn.Conv2d weight
          (C_out, C_in, kh, kw): the same numbers in the same order, only reshaped;
          layerI.conv2d.b, C_out×1  ⇄  bias (C_out)
eigennet's feature maps are C×H×W inside each sample's row, PyTorch's NCHW order, so nn.Flatten
before the first nn.Linear of a CNN is the identity eigennet leaves out. The MLPs take rows of
784 inputs; the CNNs take (N, 1, 28, 28). Inputs are normalised as the recipe does (printed).
Needs Debian's python3-torch and python3-numpy (/usr/bin/python3).
"""
import argparse
import collections
import math
import os
import sys
import tempfile
import zipfile

import numpy as np

PROG = "eigennet_torch.py"


class Refused(Exception):
    """Bad input: the message names the file and the tensor; the tool exits 1 with it."""


# ---- the recipes' networks (tools/recipes.cpp, tools/recipes_cnn.cpp) ----------------------------

# dtype: train-mnist's default precision for the recipe; normalization: how it prepares inputs
# (prepare_inputs: pixels / 255, then "whole-set": the set's own mean and std, "fixed": (x − mean)/std,
# "unit": nothing more).
RECIPES = collections.OrderedDict([
    ("notebook-mlp", dict(kind="mlp", hidden=[1000], activation="relu", log_softmax=False,
                          dtype="float64", normalization="whole-set")),
    ("exercise-mlp", dict(kind="mlp", hidden=[16, 16], activation="relu", log_softmax=True,
                          dtype="float64", normalization="unit")),
    ("practical-mlp", dict(kind="mlp", hidden=[64, 32], activation="relu", log_softmax=False,
                           dtype="float32", normalization="fixed")),
    ("notebook-cnn", dict(kind="cnn", dtype="float32", normalization="whole-set",
                          blocks=[(10, 5, 2, True)], dense=[10])),
    ("lenet", dict(kind="cnn", dtype="float32", normalization="fixed",
                   blocks=[(20, 5, 2, False), (50, 5, 2, False)], dense=[500, 10])),
])
FIXED_NORMALIZATION = (0.1307, 0.3081)  # kMnistNormalization
ACTIVATIONS = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}
IMAGE = (1, 28, 28)
CLASSES = 10


class Step:
    """One module of the nn.Sequential: its constructor call, and the eigennet layer it stands for."""

    def __init__(self, code, layer=None, kind=None, shape=None):
        self.code = code      # "nn.Linear(784, 64)"
        self.layer = layer    # eigennet layer index (None: no eigennet layer, e.g. nn.Flatten)
        self.kind = kind      # "dense" | "conv2d" for layers with parameters
        self.shape = shape    # dense: (D_in, D_out); conv2d: (C_in, C_out, kh, kw)


class Architecture:
    def __init__(self, recipe, hidden=None, activation=None):
        if recipe not in RECIPES:
            raise Refused("unknown recipe '%s' (known: %s)" % (recipe, ", ".join(RECIPES)))
        spec = RECIPES[recipe]
        self.recipe, self.spec = recipe, spec
        if spec["kind"] == "cnn" and (hidden is not None or activation is not None):
            raise Refused("recipe '%s' does not take %s (its network is fixed; it is for the MLP recipes)" %
                          (recipe, "--hidden" if hidden is not None else "--activation"))
        self.steps = []
        if spec["kind"] == "mlp":
            self.hidden = list(spec["hidden"] if hidden is None else hidden)
            self.activation = spec["activation"] if activation is None else activation
            if any(h < 1 for h in self.hidden):
                raise Refused("hidden layer widths must be ≥ 1, got %s" % ",".join(map(str, self.hidden)))
            if self.activation not in ACTIVATIONS:
                raise Refused("unknown activation '%s' (expected relu, sigmoid or tanh)" % self.activation)
            width = 784
            for h in self.hidden:
                self._dense(width, h)
                self._add("nn.%s()" % ACTIVATIONS[self.activation])
                width = h
            self._dense(width, CLASSES)
            if spec["log_softmax"]:
                self._add("nn.LogSoftmax(dim=1)")
            self.input_shape = (784,)
            self.text = "784" + "".join("→%d %s" % (h, self.activation) for h in self.hidden) + "→%d" % CLASSES
            if spec["log_softmax"]:
                self.text += " log_softmax"
        else:
            channels, height, width = IMAGE
            self.text = "1×28×28"
            for out, kernel, pool, ceil in spec["blocks"]:
                self._add("nn.Conv2d(%d, %d, kernel_size=%d)" % (channels, out, kernel), "conv2d",
                          (channels, out, kernel, kernel))
                self._add("nn.ReLU()")
                self._add("nn.MaxPool2d(%d, stride=%d%s)" % (pool, pool, ", ceil_mode=True" if ceil else ""))
                channels, height, width = out, height - kernel + 1, width - kernel + 1
                rounding = math.ceil if ceil else math.floor
                height, width = rounding((height - pool) / pool) + 1, rounding((width - pool) / pool) + 1
                self.text += "→conv%d relu→maxpool %d×%d×%d" % (kernel, channels, height, width)
            self.steps.append(Step("nn.Flatten()"))  # C×H×W as eigennet's rows: the identity there
            features = channels * height * width
            for i, out in enumerate(spec["dense"]):
                self._dense(features, out)
                if i + 1 < len(spec["dense"]):
                    self._add("nn.ReLU()")
                self.text += "→%d%s" % (out, " relu" if i + 1 < len(spec["dense"]) else "")
                features = out
            self.input_shape = IMAGE

    def _add(self, code, kind=None, shape=None):
        layer = sum(1 for s in self.steps if s.layer is not None)
        self.steps.append(Step(code, layer, kind, shape))

    def _dense(self, d_in, d_out):
        self._add("nn.Linear(%d, %d)" % (d_in, d_out), "dense", (d_in, d_out))

    def tensors(self):
        """(eigennet name, eigennet shape, torch name, torch shape, to_torch, to_eigennet) per tensor, in order."""
        out = []
        for index, step in enumerate(self.steps):
            if step.kind == "dense":
                d_in, d_out = step.shape
                w = "layer%d.dense.W" % step.layer
                out.append((w, (d_in + 1, d_out), "%d.weight" % index, (d_out, d_in),
                            lambda W: W[:-1].T, None))
                out.append((w, (d_in + 1, d_out), "%d.bias" % index, (d_out,), lambda W: W[-1], None))
            elif step.kind == "conv2d":
                c_in, c_out, kh, kw = step.shape
                out.append(("layer%d.conv2d.W" % step.layer, (c_out, c_in * kh * kw), "%d.weight" % index,
                            (c_out, c_in, kh, kw), lambda W, s=(c_out, c_in, kh, kw): W.reshape(s),
                            lambda w, s=(c_out, c_in * kh * kw): w.reshape(s)))
                out.append(("layer%d.conv2d.b" % step.layer, (c_out, 1), "%d.bias" % index, (c_out,),
                            lambda b: b.reshape(-1), lambda b: b.reshape(-1, 1)))
        return out

    def eigennet_shapes(self):
        return collections.OrderedDict((t[0], t[1]) for t in self.tensors())

    def torch_shapes(self):
        return collections.OrderedDict((t[2], t[3]) for t in self.tensors())

    def describe(self):
        return "%s (%s)" % (self.recipe, self.text)

    def code(self):
        """Python that builds the nn.Sequential (with torch.nn imported as nn)."""
        lines = ["nn.Sequential("]
        for index, step in enumerate(self.steps):
            names = [t[0] for t in self.tensors() if t[2].startswith("%d." % index)]
            comment = "  # %d: %s" % (index, ", ".join(sorted(set(names)))) if names else ""
            lines.append("    %s,%s" % (step.code, comment))
        lines.append(")")
        return "\n".join(lines)

    def sequential(self):
        """The nn.Sequential itself (float32; .double() for float64 parameters)."""
        from torch import nn
        return eval(self.code(), {"nn": nn})  # noqa: S307 -- our own generated constructor calls

    def input_text(self):
        norm = self.spec["normalization"]
        how = {"whole-set": "pixels/255, minus the set's own mean, over its own std (whole-set)",
               "fixed": "(pixels/255 − %g) / %g" % FIXED_NORMALIZATION,
               "unit": "pixels/255"}[norm]
        shape = "(N, %s)" % ", ".join(map(str, self.input_shape))
        return "input %s: %s" % (shape, how)


def normalize(pixels, recipe, dtype=None):
    """Test or training pixels (N×784 uint8) → the recipe's inputs, as train-mnist's prepare_inputs computes them."""
    spec = RECIPES[recipe]
    dtype = np.dtype(dtype or spec["dtype"])
    x = pixels.reshape(len(pixels), -1).astype(dtype) / dtype.type(255)  # divided, as eigennet (not × 1/255)
    if spec["normalization"] == "whole-set":
        x64 = x.astype(np.float64)
        mean = x64.mean()
        std = math.sqrt(((x64 - mean) ** 2).mean())  # two passes in double, as compute_normalization
        x = (x - dtype.type(mean)) / dtype.type(std)
    elif spec["normalization"] == "fixed":
        x = (x - dtype.type(FIXED_NORMALIZATION[0])) / dtype.type(FIXED_NORMALIZATION[1])
    return x


# ---- files ---------------------------------------------------------------------------------------

def shape_text(shape):
    return "×".join(map(str, shape)) if len(shape) != 1 else "(%d,)" % shape[0]


def check_tensors(path, arrays, expected, arch, what):
    """arrays: name → numpy array; expected: name → shape. Names, shapes, dtype, finiteness."""
    for name, shape in expected.items():
        if name not in arrays:
            have = ", ".join(arrays) or "no %ss" % what
            raise Refused("%s: no %s '%s' (expected shape %s for %s); the file has: %s" %
                          (path, what, name, shape_text(shape), arch.describe(), have))
        a = arrays[name]
        if tuple(a.shape) != tuple(shape):
            raise Refused("%s: %s '%s': expected shape %s for %s, found %s" %
                          (path, what, name, shape_text(shape), arch.describe(), shape_text(a.shape)))
        if a.dtype not in (np.float32, np.float64):
            raise Refused("%s: %s '%s': dtype %s; expected float32 or float64" % (path, what, name, a.dtype))
        bad = int(a.size - np.isfinite(a).sum())
        if bad:
            raise Refused("%s: %s '%s': %d of %d entries are not finite (NaN or infinity)" %
                          (path, what, name, bad, a.size))
    extra = [name for name in arrays if name not in expected]
    if extra:
        raise Refused("%s: %ss not in %s: %s (it has %d: %s)" % (path, what, arch.describe(),
                      ", ".join("'%s'" % n for n in extra), len(expected), ", ".join(expected)))


def require_output_folder(path):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise Refused("%s: the folder %s does not exist" % (path, folder))
    if os.path.isdir(path):
        raise Refused("%s: is a folder; give a file name" % path)


def write_atomically(path, write):
    """write(file object) into a temporary file beside `path`, then os.replace: an existing file is
    either replaced whole or left untouched."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(temporary, 0o666 & ~umask)  # as a plain open() would create it (mkstemp: 0600)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def read_checkpoint(path):
    if not os.path.isfile(path):
        raise Refused("%s: no such file" % path)
    if not zipfile.is_zipfile(path):
        raise Refused("%s: not a readable .npz checkpoint (not a ZIP archive)" % path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            return collections.OrderedDict((name, npz[name]) for name in npz.files)
    except Exception as e:  # a bad .npy header, a pickled object array, a damaged entry, ...
        raise Refused("%s: not a readable .npz checkpoint (%s: %s)" % (path, type(e).__name__, e))


def read_state_dict(path):
    import torch
    if not os.path.isfile(path):
        raise Refused("%s: no such file" % path)
    try:
        # weights_only: tensors and plain containers only, never arbitrary pickled code.
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise Refused("%s: not a readable PyTorch state_dict (torch.save(model.state_dict(), path)): %s: %s" %
                      (path, type(e).__name__, e))
    if not isinstance(loaded, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in loaded.items()):
        raise Refused("%s: expected a state_dict (names → tensors, torch.save(model.state_dict(), path)), found %s" %
                      (path, type(loaded).__name__))
    for name, value in loaded.items():
        if value.dtype not in (torch.float32, torch.float64):
            raise Refused("%s: tensor '%s': dtype %s; expected float32 or float64" % (path, name, value.dtype))
    return collections.OrderedDict((k, v.detach().cpu().numpy()) for k, v in loaded.items())


# ---- the two directions --------------------------------------------------------------------------

def export_checkpoint(arch, source, destination, out=None):
    require_output_folder(destination)
    arrays = read_checkpoint(source)
    check_tensors(source, arrays, arch.eigennet_shapes(), arch, "array")
    import torch  # after the checks: a refusal is quick
    state = collections.OrderedDict()
    for e_name, _, t_name, t_shape, to_torch, _ in arch.tensors():
        value = np.ascontiguousarray(to_torch(arrays[e_name]))
        assert value.shape == t_shape, (t_name, value.shape, t_shape)
        state[t_name] = torch.from_numpy(value.copy())
    dtypes = sorted({str(a.dtype) for a in arrays.values()})
    write_atomically(destination, lambda f: torch.save(state, f))
    double = dtypes == ["float64"]
    # Python as it is: a user pastes it (the tests run it).
    print("# %s, %s parameters; %s" % (arch.describe(), "/".join(dtypes), arch.input_text()), file=out)
    print("import torch\nfrom torch import nn", file=out)
    print("model = %s%s" % (arch.code(), ".double()" if double else ""), file=out)
    print("model.load_state_dict(torch.load(%r))" % destination, file=out)
    print("# wrote %s: %d tensors from %s" % (destination, len(state), source), file=out)
    return state


def import_state_dict(arch, source, destination, out=None):
    require_output_folder(destination)
    tensors = read_state_dict(source)
    check_tensors(source, tensors, arch.torch_shapes(), arch, "tensor")
    arrays = collections.OrderedDict()
    for e_name, e_shape, t_name, _, _, to_eigennet in arch.tensors():
        value = tensors[t_name]
        if to_eigennet is not None:  # conv2d: reshaped
            arrays[e_name] = np.ascontiguousarray(to_eigennet(value))
        elif t_name.endswith(".weight"):  # dense: W = [weight.T; bias]
            bias = tensors[t_name[:-len("weight")] + "bias"]
            if bias.dtype != value.dtype:
                raise Refused("%s: tensors '%s' (%s) and '%s' (%s) must have one dtype: they form %s" %
                              (source, t_name, value.dtype, t_name[:-6] + "bias", bias.dtype, e_name))
            arrays[e_name] = np.ascontiguousarray(np.vstack([value.T, bias[None, :]]))
        assert e_name not in arrays or arrays[e_name].shape == e_shape, (e_name, arrays[e_name].shape, e_shape)
    write_atomically(destination, lambda f: np.savez(f, **arrays))
    print("# %s: %s" % (arch.describe(), arch.input_text()), file=out)
    print("wrote %s: %d arrays (%s) from %s; evaluate it with:" %
          (destination, len(arrays), ", ".join(arrays), source), file=out)
    extra = ""
    if arch.spec["kind"] == "mlp":
        if arch.hidden != RECIPES[arch.recipe]["hidden"]:
            extra += " --hidden " + ",".join(map(str, arch.hidden))
        if arch.activation != RECIPES[arch.recipe]["activation"]:
            extra += " --activation " + arch.activation
    print("  build/tools/train-mnist --recipe %s%s --load %s --eval-only" % (arch.recipe, extra, destination),
          file=out)
    return arrays


def parse_hidden(text):
    try:
        widths = [int(w) for w in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("expected widths like 64,32, got '%s'" % text)
    return widths


def main(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    commands = parser.add_subparsers(dest="command", metavar="{export,import}")
    commands.required = True
    for name, what, src, dst in (("export", "eigennet checkpoint (.npz) → PyTorch state_dict", "checkpoint", "state_dict"),
                                 ("import", "PyTorch state_dict → eigennet checkpoint (.npz)", "state_dict", "checkpoint")):
        sub = commands.add_parser(name, help=what, description=what)
        sub.add_argument("source", metavar=src.upper(), help="the %s to read" % src)
        sub.add_argument("destination", metavar=dst.upper(), help="the %s to write (atomically)" % dst)
        sub.add_argument("--recipe", default="practical-mlp", choices=list(RECIPES),
                         help="the train-mnist recipe of the network (default: practical-mlp, as train-mnist)")
        sub.add_argument("--hidden", type=parse_hidden, help="MLP recipes: hidden widths, as train-mnist --hidden")
        sub.add_argument("--activation", choices=list(ACTIVATIONS), help="MLP recipes: as train-mnist --activation")
    args = parser.parse_args(argv)
    try:
        arch = Architecture(args.recipe, args.hidden, args.activation)
        if args.command == "export":
            export_checkpoint(arch, args.source, args.destination)
        else:
            import_state_dict(arch, args.source, args.destination)
    except Refused as e:
        print("%s %s: error: %s" % (PROG, args.command, e), file=sys.stderr)
        return 1
    except OSError as e:
        print("%s %s: error: %s" % (PROG, args.command, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
