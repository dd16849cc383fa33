"""Reads the payload of an MNIST-format IDX file (raw or .gz), for the reference scripts."""
import gzip
import os
import sys

import numpy as np


def read_idx(folder, name, header_bytes):
    """The payload of folder/name (or folder/name.gz) after its header, as uint8."""
    for candidate in (os.path.join(folder, name), os.path.join(folder, name + ".gz")):
        if os.path.exists(candidate):
            opener = gzip.open if candidate.endswith(".gz") else open
            with opener(candidate, "rb") as f:
                return np.frombuffer(f.read(), dtype=np.uint8, offset=header_bytes)
    sys.exit("%s: no %s or %s.gz in %s" % (os.path.basename(sys.argv[0]), name, name, folder))
