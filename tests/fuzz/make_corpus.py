#!/usr/bin/python3
"""Writes the seed corpus of the fuzz harnesses (tests/fuzz/corpus/<harness>/): valid files and
the hostile cases of the data layer's tests. Run it again only to change the seeds; the files
are committed. Needs numpy (Debian's python3-numpy, /usr/bin/python3)."""
import gzip
import io
import os
import struct
import zipfile
import zlib

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')


def put(harness, name, data):
    os.makedirs(os.path.join(ROOT, harness), exist_ok=True)
    with open(os.path.join(ROOT, harness, name), 'wb') as f:
        f.write(data)


def idx(type_code, dims, payload=b''):
    return bytes([0, 0, type_code, len(dims)]) + b''.join(struct.pack('>I', d) for d in dims) + payload


def npy(array):
    out = io.BytesIO()
    np.lib.format.write_array(out, array, allow_pickle=False)
    return out.getvalue()


def npy_with_header(header, version=1):
    """An .npy file whose header dict is `header`, padded as numpy pads, with no data."""
    text = header.encode('latin1')
    prefix = 10 if version == 1 else 12
    text += b' ' * ((64 - (prefix + len(text) + 1) % 64) % 64) + b'\n'
    size = struct.pack('<H', len(text)) if version == 1 else struct.pack('<I', len(text))
    return b'\x93NUMPY' + bytes([version, 0]) + size + text


def npz(entries, compress=False):
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = z.compression
            z.writestr(info, data)
    return out.getvalue()


def with_declared_size(archive, uncompressed):
    """`archive` (one entry) with the entry's declared uncompressed size replaced, local header
    and central directory alike."""
    data = bytearray(archive)
    local = data.index(b'PK\x03\x04')
    central = data.index(b'PK\x01\x02')
    struct.pack_into('<I', data, local + 22, uncompressed)
    struct.pack_into('<I', data, central + 24, uncompressed)
    return bytes(data)


def with_shared_data(archive):
    """`archive` (two entries) with the second entry's central-directory record pointing at the
    first entry's local header: two names for one stream of data (overlapping entries, the
    building block of a ZIP bomb whose output grows with the square of its size)."""
    data = bytearray(archive)
    first = data.index(b'PK\x01\x02')
    second = data.index(b'PK\x01\x02', first + 4)
    struct.pack_into('<I', data, second + 42, struct.unpack_from('<I', data, first + 42)[0])
    return bytes(data)


a = (np.arange(6, dtype=np.float64) / 7).reshape(2, 3)
labels = idx(0x08, [3], bytes([1, 2, 3]))
images = idx(0x08, [2, 2, 2], bytes(range(8)))
dims_4g = idx(0x08, [65536, 65536])  # 12 bytes declaring 4 GiB of pixels
dims_overflow = idx(0x0E, [0xFFFFFFFF] * 3)

# IDX, the file as given (raw or gzip).
put('idx', 'labels.idx', labels)
put('idx', 'images.idx.gz', gzip.compress(images, mtime=0))
put('idx', 'dims_4g.idx', dims_4g)
put('idx', 'dims_4g.idx.gz', gzip.compress(dims_4g, mtime=0))
put('idx', 'dims_overflow.idx', dims_overflow)
# IDX through gzip: the harness compresses its input first.
put('idx_gzip', 'labels.idx', labels)
put('idx_gzip', 'images.idx', images)
put('idx_gzip', 'dims_4g.idx', dims_4g)

# .npy: one array's bytes.
put('npy', 'c_f8.npy', npy(a))
put('npy', 'fortran_be_f4.npy', npy(np.asfortranarray(a.astype('>f4'))))
put('npy', 'scalar.npy', npy(np.float32(2.5)))
put('npy', 'shape_overflow.npy',
    npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (4000000000, 4000000000), }"))
header_too_long = npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }" + ' ' * 10000,
                                  version=2)
put('npy', 'header_too_long.npy', header_too_long)

# .npz: whole archives.
put('npz', 'plain.npz', npz({'W.npy': npy(a), 'b.npy': npy(np.arange(3.0))}))
put('npz', 'compressed.npz', npz({'W.npy': npy(a), 'b.npy': npy(np.arange(3.0))}, compress=True))
put('npz', 'fortran_be.npz', npz({'f.npy': npy(np.asfortranarray(a.astype('>f8')))}))
put('npz', 'shape_overflow.npz', npz({'x.npy': npy_with_header(
    "{'descr': '<f8', 'fortran_order': False, 'shape': (4000000000, 4000000000), }")}))
put('npz', 'header_too_long.npz', npz({'x.npy': header_too_long}, compress=True))
# A deflated entry declaring 2.28 GB uncompressed for its few hundred bytes.
put('npz', 'declared_2g.npz', with_declared_size(npz({'W.npy': npy(a)}, compress=True), 0x88000000))
# Two entries, one stream of data.
put('npz', 'overlapping.npz', with_shared_data(npz({'W.npy': npy(a), 'V.npy': npy(a)})))
