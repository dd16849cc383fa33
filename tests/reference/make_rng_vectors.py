#!/usr/bin/python3
"""Generate tests/data/rng_vectors.txt: what numpy's legacy RandomState draws.

tests/core/test_random.cpp replays every step with eigennet::RandomState and compares
bit for bit. Run with Debian's numpy (the interpreter first on PATH may lack it):

    /usr/bin/python3 tests/reference/make_rng_vectors.py [OUTPUT]

File format (line based, whitespace separated, '#' starts a comment line):

    case NAME SEED            -> RandomState(SEED)
    OP ARGS... = VALUES...    -> one numpy call (or a few scalar calls) and its output
    end

OPs, each an exact numpy call on the case's RandomState `rs`:
    uint32 N                   rs.randint(0, 2**32, size=N, dtype=np.uint32)  (raw MT19937 words)
    random_sample N            rs.random_sample(N)
    standard_normal N          rs.standard_normal(N)
    normal LOC SCALE N         rs.normal(LOC, SCALE, size=N)
    normal_scalar LOC SCALE N  [rs.normal(LOC, SCALE) for _ in range(N)]
    normal_matrix LOC SCALE R C      rs.normal(LOC, SCALE, size=(R, C)), C order
    normal_matrix_f32 LOC SCALE R C  the same .astype(np.float32)
    uniform LOW HIGH N         rs.uniform(LOW, HIGH, size=N)
    uniform_matrix LOW HIGH R C      rs.uniform(LOW, HIGH, size=(R, C)), C order
    randint LOW HIGH N         rs.randint(LOW, HIGH, size=N, dtype=np.int32)
    randint_scalar LOW HIGH N  [rs.randint(LOW, HIGH, dtype=np.int32) for _ in range(N)]
    permutation N              rs.permutation(N)
    permutation_summary N K    rs.permutation(N) as: SUM HASH then the first K and last K
                               entries; SUM = sum((i+1)*p[i]), HASH = FNV-1a style
                               h = ((h ^ p[i]) * 1099511628211) mod 2**64 from 14695981039346656037
    shuffle_list N             x = list(range(N)); rs.shuffle(x)  (the untyped path)
    random_interval_desc MAX K the j of the first K swaps of rs.shuffle(x) with len(x) = MAX+1,
                               i.e. random_interval(MAX), random_interval(MAX-1), ...
                               (MAX > 2**32 exercises the 64-bit draws)
    seed S                     rs.seed(S)  (no values)

Doubles are written with repr(): the shortest string that reads back to the same double.
"""

import os
import sys
import warnings

import numpy as np

U64 = (1 << 64) - 1


def fmt_doubles(values):
    return " ".join(repr(float(v)) for v in np.ravel(values))


def fmt_ints(values):
    # Lists stay Python ints: np.ravel would turn a list holding a 64-bit hash into floats.
    if isinstance(values, np.ndarray):
        values = values.ravel()
    return " ".join(str(int(v)) for v in values)


class Writer:
    def __init__(self):
        self.lines = []

    def case(self, name, seed):
        self.lines.append(f"case {name} {seed}")
        return np.random.RandomState(seed)

    def end(self):
        self.lines.append("end")

    def step(self, op, args, values):
        self.lines.append(f"{op} {' '.join(str(a) for a in args)} = {values}".rstrip())


class _StopShuffle(Exception):
    pass


class _RecordingSequence:
    """A fake sequence of huge length: records the swap indices of shuffle's first steps.

    RandomState.shuffle on a non-ndarray runs `for i in reversed(range(1, n)): j =
    random_interval(i); x[i], x[j] = x[j], x[i]`. __getitem__ returns the index itself, so
    the first assignment of each swap is x[i] = j, and we can read j without storing n items.
    """

    def __init__(self, n, k):
        self.n, self.k, self.js = n, k, []

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i

    def __setitem__(self, i, v):
        self.js.append(v)
        if len(self.js) == 2 * self.k:
            raise _StopShuffle


def random_interval_desc(rs, max_value, k):
    seq = _RecordingSequence(max_value + 1, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not a subclass of Sequence": intended here
        try:
            rs.shuffle(seq)
        except _StopShuffle:
            pass
    return seq.js[0::2]  # x[i] = j, then x[j] = i


def permutation_summary(p, k):
    total = sum((i + 1) * int(v) for i, v in enumerate(p))
    h = 14695981039346656037
    for v in p:
        h = ((h ^ int(v)) * 1099511628211) & U64
    return [total, h] + [int(v) for v in p[:k]] + [int(v) for v in p[-k:]]


def basic_cases(w, seed):
    """Each distribution from a fresh generator, for one seed."""
    rs = w.case("raw", seed)
    # 640 > 624: crosses the first regeneration of the state.
    w.step("uint32", [640], fmt_ints(rs.randint(0, 2**32, size=640, dtype=np.uint32)))
    w.end()

    rs = w.case("random_sample", seed)
    w.step("random_sample", [257], fmt_doubles(rs.random_sample(257)))
    w.end()

    rs = w.case("normal", seed)
    # Odd lengths: each call starts or ends on the cached second value of a pair.
    w.step("normal", [0, 0.01, 301], fmt_doubles(rs.normal(0, 0.01, size=301)))
    w.step("normal", [0, 0.01, 3], fmt_doubles(rs.normal(0, 0.01, size=3)))
    w.step("standard_normal", [1], fmt_doubles(rs.standard_normal(1)))
    w.step("normal_scalar", [1.5, 2.0, 5], fmt_doubles([rs.normal(1.5, 2.0) for _ in range(5)]))
    w.step("standard_normal", [4], fmt_doubles(rs.standard_normal(4)))
    w.end()

    rs = w.case("uniform", seed)
    w.step("uniform", [-0.5, 0.5, 201], fmt_doubles(rs.uniform(-0.5, 0.5, size=201)))
    w.step("uniform", [-3, 7, 9], fmt_doubles(rs.uniform(-3, 7, size=9)))
    w.step("uniform_matrix", [-0.1, 0.1, 3, 5], fmt_doubles(rs.uniform(-0.1, 0.1, size=(3, 5))))
    w.end()

    rs = w.case("randint", seed)
    for _ in range(5):  # mini-batch indices, as a training loop draws them
        w.step("randint", [0, 60000, 40], fmt_ints(rs.randint(0, 60000, size=40, dtype=np.int32)))
    w.step("randint_scalar", [0, 60000, 10],
           fmt_ints([rs.randint(0, 60000, dtype=np.int32) for _ in range(10)]))
    # Small, power-of-two (mask == range: nothing rejected) and power-of-two-plus-one
    # (worst rejection) ranges, negative lows, the one-value range (no draw at all) and the
    # widest int32 ranges.
    for low, high in [(0, 1), (7, 8), (0, 2), (0, 10), (0, 16), (0, 17), (-5, 5), (0, 256),
                      (0, 257), (0, 65536), (-100, 100), (0, 2**31 - 1), (-2**31, 2**31 - 1),
                      (-2**31, -2**31 + 3)]:
        w.step("randint", [low, high, 20], fmt_ints(rs.randint(low, high, size=20, dtype=np.int32)))
    w.step("uint32", [3], fmt_ints(rs.randint(0, 2**32, size=3, dtype=np.uint32)))
    w.end()

    rs = w.case("permutation", seed)
    w.step("permutation", [10], fmt_ints(rs.permutation(10)))
    w.step("permutation", [1], fmt_ints(rs.permutation(1)))
    w.step("permutation", [2], fmt_ints(rs.permutation(2)))
    w.step("permutation_summary", [60000, 10], fmt_ints(permutation_summary(rs.permutation(60000), 10)))
    x = list(range(25))
    rs.shuffle(x)
    w.step("shuffle_list", [25], fmt_ints(x))
    w.step("permutation", [10], fmt_ints(rs.permutation(10)))
    w.end()

    rs = w.case("random_interval", seed)
    for max_value in [2**32 - 1, 2**32, 2**32 + 1, 2**40 + 7, 2**62 + 12345, 2**63 - 2]:
        w.step("random_interval_desc", [max_value, 6], fmt_ints(random_interval_desc(rs, max_value, 6)))
    w.end()

    rs = w.case("reseed", seed)
    # seed() must forget the cached gaussian, as RandomState.seed does.
    w.step("normal", [0, 1, 3], fmt_doubles(rs.normal(0, 1, size=3)))
    rs.seed(seed ^ 0x5EED)
    w.step("seed", [seed ^ 0x5EED], "")
    w.step("normal", [0, 1, 3], fmt_doubles(rs.normal(0, 1, size=3)))
    w.end()


def interleaved_case(w, seed, f32):
    """A training script: init weights (785x3: 784 inputs + bias), then draw mini-batches."""
    rs = w.case("interleaved_f32" if f32 else "interleaved", seed)
    W = rs.normal(0, 0.01, size=(785, 3))  # 2355 values: leaves a gaussian cached
    if f32:
        w.step("normal_matrix_f32", [0, 0.01, 785, 3], fmt_doubles(W.astype(np.float32)))
    else:
        w.step("normal_matrix", [0, 0.01, 785, 3], fmt_doubles(W))
    for _ in range(3):
        w.step("randint", [0, 60000, 40], fmt_ints(rs.randint(0, 60000, size=40, dtype=np.int32)))
    # The cached gaussian from the weight init survives the randint calls.
    w.step("normal", [0, 0.01, 5], fmt_doubles(rs.normal(0, 0.01, size=5)))
    w.step("permutation", [10], fmt_ints(rs.permutation(10)))
    w.step("randint", [0, 60000, 40], fmt_ints(rs.randint(0, 60000, size=40, dtype=np.int32)))
    w.step("uniform", [-0.5, 0.5, 4], fmt_doubles(rs.uniform(-0.5, 0.5, size=4)))
    w.step("normal_matrix", [0, 0.01, 3, 3], fmt_doubles(rs.normal(0, 0.01, size=(3, 3))))
    w.end()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "data", "rng_vectors.txt")
    w = Writer()
    w.lines.append(f"# numpy.random.RandomState reference vectors, numpy {np.__version__}.")
    w.lines.append("# Generated by tests/reference/make_rng_vectors.py; format described there.")
    for seed in [0, 1, 42, 1995, 2**32 - 1]:
        basic_cases(w, seed)
    interleaved_case(w, 42, f32=False)
    interleaved_case(w, 1995, f32=False)
    interleaved_case(w, 0, f32=True)
    with open(out, "w") as f:
        f.write("\n".join(w.lines) + "\n")
    print(f"wrote {out}: {len(w.lines)} lines, {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main()
