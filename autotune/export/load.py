"""Load an exported library and call its kernels on numpy arrays or any DLPack tensor.

``load("out/matmul.so")(a, b)`` returns the output, allocated to the inputs' kind (numpy in, numpy
out; PyTorch in, PyTorch out). Shapes and dtypes are checked against the manifest first, with
errors that name the argument. Only ``apache-tvm-ffi`` and numpy are needed: TVM's runtime library
(``libtvm_runtime.so``, for the thread pool of parallel kernels) is found in the installed TVM
package or beside the library (``opforge export --bundle-runtime``); where there is none, the
library's own one-thread fallback runs parallel loops, with a warning. No compiler is imported.

A library loaded on hardware whose fingerprint differs from the manifest's warns once
(:class:`FingerprintWarning`): it runs correctly, but its schedule was tuned elsewhere.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .manifest import ArgInfo, KernelInfo, Manifest, TargetEntry

logger = logging.getLogger(__name__)

# the context pointer a kernel with parallel loops launches through (TVM's runtime fills it; the
# library's own fallback runs the loop on one thread; its workspace fallback, malloc, costs nothing)
_PARALLEL_SYMBOL = "__TVMBackendParallelLaunch"


class FingerprintWarning(UserWarning):
    """The library was tuned on other hardware than this machine's: correct, maybe not fastest."""


class SerialFallbackWarning(UserWarning):
    """TVM's runtime library was not found: parallel kernels run on one thread."""


class ArgumentError(ValueError):
    """An argument's type, shape, dtype or device does not match the kernel's manifest."""


def _manifest_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if p.is_dir():
        found = sorted(p.glob("*.json"))
        if len(found) != 1:
            raise FileNotFoundError(f"{p} holds {len(found)} manifests {[f.name for f in found]}; pass the .so or .json path")
        return found[0]
    if p.suffix == ".json":
        candidate = p
    else:
        candidate = p.with_suffix(".json")
    if not candidate.is_file():
        raise FileNotFoundError(f"no manifest {candidate} beside {p}; an opforge library is loaded with its <name>.json (opforge export writes both)")
    return candidate


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """The manifest of the library at ``path`` (its ``.so``, its ``.json`` or their folder)."""
    return Manifest.from_json(_manifest_path(path).read_text())


def _import_ffi(manifest: Manifest) -> Any:
    try:
        import tvm_ffi
    except ImportError:
        raise ImportError(
            f"loading an opforge library needs TVM's FFI runtime: pip install apache-tvm-ffi=={manifest.tvm_ffi_version}"
        ) from None
    if str(tvm_ffi.__version__) != manifest.tvm_ffi_version:
        logger.warning("library built with apache-tvm-ffi %s, running with %s", manifest.tvm_ffi_version, tvm_ffi.__version__)
    return tvm_ffi


def runtime_candidates(manifest_dir: Path, manifest: Manifest, runtime_lib: str | None = None) -> list[Path]:
    """Where TVM's runtime library may be, best first: given, the installed TVM package's, the bundled one.

    The installed package's copy comes before a bundled one so that a later ``import tvm`` finds
    the same file loaded, never a second copy.
    """
    out = []
    if runtime_lib:
        out.append(Path(runtime_lib))
    try:
        spec = importlib.util.find_spec("tvm") if "tvm" not in sys.modules else sys.modules["tvm"].__spec__
    except (ImportError, ValueError):  # an import hook or a broken install: no TVM package to take it from
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            out.append(Path(loc) / "lib" / "libtvm_runtime.so")
    if manifest.runtime_lib:
        out.append(manifest_dir / manifest.runtime_lib)
    return out


def has_parallel_loops(library: str | os.PathLike[str]) -> bool:
    """Whether the library's kernels launch parallel loops (and so want TVM's thread pool)."""
    handle = ctypes.CDLL(str(library), mode=os.RTLD_LAZY | getattr(os, "RTLD_LOCAL", 0))
    try:
        getattr(handle, _PARALLEL_SYMBOL)
    except AttributeError:
        return False
    return True


def _load_runtime(candidates: Sequence[Path]) -> Path | None:
    for path in candidates:
        if path.is_file():
            ctypes.CDLL(str(path), mode=getattr(os, "RTLD_GLOBAL", 0))
            return path
    return None


#: hardware facts a tuning run adds to its target (so its records stay apart) that no machine has itself
RUN_TAGS = ("numerics",)


def host_fingerprint(target: TargetEntry) -> str | None:
    """The fingerprint this machine would have as ``target`` (None where opforge's targets are not installed)."""
    try:
        from targets import get_target
    except ImportError:
        return None
    name = f"cpu:{target.cores}" if target.kind == "cpu" else target.name
    try:
        here = get_target(name)
    except ValueError:
        return None
    # the numerics tag of a --quantize run (autotune.accuracy.quantized_target) is a fact of the run, not the machine
    tags = {k: target.hardware[k] for k in RUN_TAGS if k in target.hardware}
    return here.with_hardware(**tags).fingerprint()


def _numpy_dtype(dtype: str) -> np.dtype:
    if dtype in ("bfloat16", "float8_e4m3fn", "float8_e5m2"):
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, dtype))
    return np.dtype(np.bool_) if dtype == "bool" else np.dtype(dtype)


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


#: the data alignment TVM's kernels assume of every tensor (TVM allocates so; vector loads rely on it)
ALIGN_BYTES = 64


def aligned_empty(shape: Sequence[int], dtype: np.dtype) -> np.ndarray:
    """An uninitialized C-contiguous array whose data starts on an ``ALIGN_BYTES`` boundary."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    buf = np.empty(nbytes + ALIGN_BYTES, np.uint8)
    start = (-buf.ctypes.data) % ALIGN_BYTES
    return buf[start : start + nbytes].view(dtype).reshape(tuple(shape))


def _usable(x: np.ndarray) -> bool:
    return bool(x.flags.c_contiguous and x.flags.writeable and x.ctypes.data % ALIGN_BYTES == 0)


@dataclass(frozen=True)
class _Prepared:
    tensor: Any
    keep: Any  # the object whose memory the tensor views (kept alive through the call)
    copy_back_to: np.ndarray | None = None  # a caller's output the result is copied into


def _load_bound(info: KernelInfo, folder: Path) -> dict[str, np.ndarray]:
    """The packed weights bound to ``info`` at export, read once from the ``.npz`` beside the library."""
    out: dict[str, np.ndarray] = {}
    for name, file in info.bound.items():
        spec = next(a for a in info.args if a.name == name)
        with np.load(folder / file, allow_pickle=False) as packed:
            arr = packed[name]
        if arr.shape != spec.shape or str(arr.dtype) != spec.dtype:
            raise ValueError(f"{file}: {name} is {arr.dtype}{list(arr.shape)}, the manifest says {spec.dtype}{list(spec.shape)}")
        staged = aligned_empty(spec.shape, arr.dtype)  # kernels assume 64-byte aligned data
        staged[...] = arr
        out[name] = staged
    return out


class Kernel:
    """One kernel of a loaded library: ``kernel(*inputs)``, ``kernel(*inputs, *outputs)`` or ``kernel(*inputs, out=...)``."""

    def __init__(self, info: KernelInfo, function: Any, manifest: Manifest, ffi: Any, library: "Library") -> None:
        self.info = info
        self.manifest = manifest
        self._function = function
        self._ffi = ffi
        self._library = library  # keeps the module loaded while a kernel is referenced
        self._bound = _load_bound(info, library.path.parent)

    @property
    def inputs(self) -> tuple[ArgInfo, ...]:
        """The inputs a caller passes: all of the kernel's, less those bound to packed weights at export."""
        return tuple(a for a in self.info.inputs if a.name not in self._bound)

    @property
    def name(self) -> str:
        return self.info.name

    def __repr__(self) -> str:
        args = ", ".join(f"{a.name}: {a.dtype}{_shape_text(a.shape)}" for a in self.inputs)
        outs = ", ".join(f"{a.dtype}{_shape_text(a.shape)}" for a in self.info.outputs)
        return f"<opforge kernel {self.name}({args}) -> {outs}, {self.info.source} on {self.manifest.target.name}>"

    def __call__(self, *args: Any, out: Any = None) -> Any:
        ins, outs = self.inputs, self.info.outputs
        given_out: list[Any] | None
        if len(args) == len(ins) + len(outs) and out is None:
            given_in, given_out = list(args[: len(ins)]), list(args[len(ins):])
        elif len(args) == len(ins):
            given_in = list(args)
            given_out = None if out is None else (list(out) if isinstance(out, (tuple, list)) else [out])
        else:
            raise TypeError(
                f"{self.name} takes {len(ins)} inputs ({', '.join(a.name for a in ins)}), optionally followed by its "
                f"{len(outs)} output(s) ({', '.join(a.name for a in outs)}); got {len(args)} arguments"
            )
        if given_out is not None and len(given_out) != len(outs):
            raise TypeError(f"{self.name} has {len(outs)} output(s) ({', '.join(a.name for a in outs)}); out= gave {len(given_out)}")
        by_name = {spec.name: self._prepare(x, spec) for x, spec in zip(given_in, ins)}
        by_name.update((name, _Prepared(self._ffi.from_dlpack(a), a)) for name, a in self._bound.items())
        if given_out is None:
            given_out = [self._allocate(spec, given_in[0] if given_in else None) for spec in outs]
        by_name.update((spec.name, self._prepare(x, spec)) for x, spec in zip(given_out, outs))
        prepared = [by_name[a.name] for a in self.info.args]
        self._function(*(p.tensor for p in prepared))
        for p in prepared:
            if p.copy_back_to is not None:
                p.copy_back_to[...] = p.keep
        return given_out[0] if len(given_out) == 1 else tuple(given_out)

    # -- arguments ------------------------------------------------------------------------

    def _prepare(self, x: Any, spec: ArgInfo) -> _Prepared:
        where = f"{self.name}: {'output' if spec.is_output else 'argument'} {spec.name}"
        expected = f"{spec.dtype}{_shape_text(spec.shape)}"
        if isinstance(x, np.ndarray):
            if x.dtype != _numpy_dtype(spec.dtype):
                raise ArgumentError(f"{where} has dtype {x.dtype}, expected {expected}")
            if tuple(x.shape) != spec.shape:
                raise ArgumentError(f"{where} has shape {_shape_text(x.shape)}, expected {expected}")
            if _usable(x):
                return _Prepared(self._ffi.from_dlpack(x), x)
            # kernels assume aligned, dense data: run on an aligned copy (and copy an output back)
            if spec.is_output and not x.flags.writeable:
                raise ArgumentError(f"{where} is read-only; pass a writable array")
            staged = aligned_empty(spec.shape, x.dtype)
            staged[...] = x
            return _Prepared(self._ffi.from_dlpack(staged), staged, x if spec.is_output else None)
        if not hasattr(x, "__dlpack__"):
            raise ArgumentError(f"{where} is a {type(x).__name__}; expected a numpy array or a DLPack tensor (an object with __dlpack__), {expected}")
        try:
            t = self._ffi.from_dlpack(x)
        except (BufferError, RuntimeError, TypeError, ValueError) as e:
            raise ArgumentError(f"{where}: cannot view it through DLPack ({e})") from None
        if str(t.dtype) != spec.dtype:
            raise ArgumentError(f"{where} has dtype {t.dtype}, expected {expected}")
        if tuple(t.shape) != spec.shape:
            raise ArgumentError(f"{where} has shape {_shape_text(tuple(t.shape))}, expected {expected}")
        device = self.manifest.target.device
        kind = "cuda" if int(t.device.dlpack_device_type()) == 2 else "cpu" if int(t.device.dlpack_device_type()) == 1 else str(t.device)
        if kind != device:
            raise ArgumentError(f"{where} is on {t.device}, but the kernel runs on {device}")
        if not t.is_contiguous() or int(t.data_ptr()) % ALIGN_BYTES:
            # kernels assume dense data on a 64-byte boundary: stage a CPU input, refuse anything else
            if spec.is_output or device != "cpu":
                raise ArgumentError(
                    f"{where} must be contiguous and start on a {ALIGN_BYTES}-byte boundary, as the kernel assumes; "
                    f"pass a fresh tensor (torch: torch.empty(...) or x.contiguous())"
                )
            staged = aligned_empty(spec.shape, _numpy_dtype(spec.dtype))
            staged[...] = np.from_dlpack(x)
            return _Prepared(self._ffi.from_dlpack(staged), staged)
        return _Prepared(t, x)

    def _allocate(self, spec: ArgInfo, like: Any) -> Any:
        if self.manifest.target.device == "cpu":
            out = aligned_empty(spec.shape, _numpy_dtype(spec.dtype))
            if like is None or isinstance(like, np.ndarray):
                return out
            module = sys.modules.get(type(like).__module__.split(".")[0])
            from_dlpack = getattr(module, "from_dlpack", None)
            return from_dlpack(out) if callable(from_dlpack) else out
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(like, torch.Tensor):
            return torch.empty(spec.shape, dtype=getattr(torch, spec.dtype), device=like.device)
        raise ArgumentError(f"{self.name}: pass the output {spec.name} (out=...) on the GPU, or PyTorch inputs to allocate it like")


class Library:
    """A loaded library: its manifest and its kernels by name (``lib["matmul"]``)."""

    def __init__(self, path: str | os.PathLike[str], runtime_lib: str | None = None) -> None:
        manifest_path = _manifest_path(path)
        self.manifest = Manifest.from_json(manifest_path.read_text())
        self.path = manifest_path.parent / self.manifest.library
        if not self.path.is_file():
            raise FileNotFoundError(f"manifest {manifest_path} names {self.manifest.library}, which is not there")
        ffi = _import_ffi(self.manifest)
        self.runtime_lib = _load_runtime(runtime_candidates(manifest_path.parent, self.manifest, runtime_lib))
        if self.runtime_lib is None and has_parallel_loops(self.path):
            warnings.warn(
                f"{self.path.name} has parallel loops, but TVM's runtime library (libtvm_runtime.so) was not found: they run on "
                f"one thread. Install apache-tvm, export with --bundle-runtime, or pass runtime_lib=",
                SerialFallbackWarning,
                stacklevel=3,
            )
        self._module = ffi.load_module(str(self.path.resolve()))
        self.kernels = {k.name: Kernel(k, self._module[k.function], self.manifest, ffi, self) for k in self.manifest.kernels}
        self._check_fingerprint()

    def _check_fingerprint(self) -> None:
        here = host_fingerprint(self.manifest.target)
        tuned = self.manifest.target.fingerprint
        if here is not None and here != tuned:
            warnings.warn(
                f"{self.path.name} was tuned on hardware {tuned} ({self.manifest.target.hardware.get('model', 'unknown')}), "
                f"this machine is {here}: it runs correctly, but re-tune here for the fastest kernel",
                FingerprintWarning,
                stacklevel=3,
            )

    def __getitem__(self, name: str) -> Kernel:
        try:
            return self.kernels[name]
        except KeyError:
            raise KeyError(f"{self.path.name} has no kernel {name!r}; it holds {sorted(self.kernels)}") from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.kernels.values())

    def __len__(self) -> int:
        return len(self.kernels)


def load_library(path: str | os.PathLike[str], runtime_lib: str | None = None) -> Library:
    """Load every kernel of the library at ``path`` (its ``.so``, ``.json`` or folder)."""
    return Library(path, runtime_lib)


def load(path: str | os.PathLike[str], kernel: str | None = None, runtime_lib: str | None = None) -> Kernel:
    """The callable kernel ``kernel`` (default: the only one) of the exported library at ``path``."""
    lib = Library(path, runtime_lib)
    return lib[lib.manifest.kernel(kernel).name]

