"""Export: replay the best record of each op, compile it, write ``<name>.so`` + ``<name>.json`` + ``<name>.h``.

``export_library([ExportItem("matmul", op)], target, db, out_dir)`` looks up the fastest ok record
of every (workload, target, fingerprint) whose Config this version's schedule space holds, applies its Config with the same schedule step the
build workers use (``autotune.measure.builder.apply_config``) and compiles it with the same
``tvm.compile`` call, so the exported kernel computes exactly what was measured. Several ops
go into one library. No record is a :class:`NoRecordError`, unless ``fallback="default"``
asks for the space's untuned default schedule (the manifest then says ``"source": "default"``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .cshim import check_identifier, header_source, shim_source
from .manifest import ArgInfo, KernelInfo, Manifest, Measured, TargetEntry, arg_infos

logger = logging.getLogger(__name__)

FALLBACKS = (None, "default")


class NoRecordError(LookupError):
    """No ok record of a workload on the target's hardware, and no fallback asked for."""


@dataclass(frozen=True)
class ExportItem:
    """One kernel to export: its name in the library (a C identifier) and the bound ``dsl.Op``."""

    name: str
    op: Any


@dataclass(frozen=True)
class Schedule:
    """The Config chosen for one kernel, and the record it came from (None for the default)."""

    config_json: str
    source: str
    record: Any = None


@dataclass(frozen=True)
class ExportResult:
    library: Path
    manifest_path: Path
    header: Path
    manifest: Manifest


def choose_schedule(db: Any, op: Any, target: Any, fallback: str | None = None) -> Schedule:
    """The best record's Config of ``op`` on ``target`` (this hardware), or the default with ``fallback="default"``."""
    from dsl.key import workload_key

    if fallback not in FALLBACKS:
        raise ValueError(f"unknown fallback {fallback!r}; expected one of {list(FALLBACKS)}")
    key = workload_key(op)
    fastest = db.top_k(key, target.canonical(), target.fingerprint(), REPLAY_CANDIDATES)
    reasons: list[str] = []  # why each faster record was passed over, fastest first
    for rec in fastest:
        why = _unschedulable(op, rec, target)
        if why is None:
            if reasons:
                logger.warning("%s: skipped %d faster records this opforge's schedule space no longer holds (%s); tune again to "
                               "measure that region anew", op.name, len(reasons), reasons[0])
            return Schedule(rec.config, "tuned", rec)
        reasons.append(why)
    if fastest:
        raise NoRecordError(
            f"the {len(fastest)} fastest records of {op.name} (workload {key[:16]}) were tuned with a schedule space this "
            f"opforge no longer has ({reasons[-1]}); they stay in the database, but tune again (opforge tune {op.name} ...) to export it"
        )
    if fallback == "default":
        from dsl.lower import lower
        from schedules import space_for

        return Schedule(space_for(lower(op), target).default().to_json(), "default")
    label = f"cpu:{target.cores}" if target.kind == "cpu" else target.name
    sizes = ",".join(f"{k}={v}" for k, v in sorted(op.sizes.items()))
    raise NoRecordError(
        f"no tuned record of {op.name} ({sizes}, workload {key[:16]}) on target {label} (fingerprint "
        f"{target.fingerprint()}) in the database{_elsewhere(db, key, target)}; tune it first (opforge tune {op.name} "
        f"--shape {sizes} --target {label}) or export the untuned default schedule with --fallback default"
    )


#: how many of the fastest records export looks through for one this version's schedule space holds
REPLAY_CANDIDATES = 20


def _unschedulable(op: Any, record: Any, target: Any) -> str | None:
    """Why this version's schedule space rejects ``record``'s Config (a knob added, a domain narrowed
    since it was tuned), or None where it holds it."""
    from schedules import Config, ScheduleError, space_for
    from schedules.quantize import program_of

    program = program_of(op, record.config, record.calibration)  # a record without its calibration is its own error
    try:
        space_for(program, target).check(Config.from_json(record.config))
    except (ScheduleError, ValueError) as e:
        return str(e)
    return None


def _elsewhere(db: Any, key: str, target: Any) -> str:
    """A hint naming the targets or hardware this workload does have records for."""

    ok = [r for r in db.records_for(key) if r.status == "ok"]
    if not ok:
        return ""
    same = [r for r in ok if r.target == target.canonical()]
    if same:
        return f"; it has records on other hardware (fingerprint {', '.join(sorted({r.fingerprint for r in same}))})"
    others = sorted({json.dumps(json.loads(r.target).get("tvm", r.target), sort_keys=True) for r in ok})
    return f"; it has records for other targets: {'; '.join(others)}"


def _versions() -> tuple[str, str, str]:
    from importlib.metadata import PackageNotFoundError, version

    import tvm
    import tvm_ffi

    try:
        opforge = version("opforge")
    except PackageNotFoundError:
        opforge = "unknown"
    return opforge, str(tvm.__version__), str(tvm_ffi.__version__)


def _record_info(record: Any) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "uid": record.uid, "host": record.host, "team": record.team, "created_at": record.created_at.isoformat(),
        "opforge_version": record.opforge_version, "tvm_version": record.tvm_version,
        "max_abs_error": record.max_abs_error, "rel_l2_error": record.rel_l2_error,
        "calibration": record.calibration,
    }


def scheduled_kernel(op: Any, name: str, config_json: str, target: Any, calibration: str | None = None) -> tuple[Any, str | None]:
    """The scheduled PrimFunc of ``op`` under ``config_json``, named ``name``, and its trace JSON.

    The schedule step is the build workers' own (``apply_config``), so the kernel is the measured one;
    a quantized Config is applied to the op calibrated as its record says (``calibration``).
    """
    from schedules.quantize import program_of

    from ..measure.builder import apply_config

    scheduled, trace = apply_config(program_of(op, config_json, calibration), config_json, target)
    return scheduled["main"].with_attr("global_symbol", name), trace


def _same_trace(a: str | None, b: str | None) -> bool | None:
    if a is None or b is None:
        return None
    return bool(json.loads(a) == json.loads(b))


def kernel_info(item: ExportItem, schedule: Schedule, target: Any, trace: str | None) -> KernelInfo:
    from dsl.key import canonical_text, workload_key

    from ..measure.check import arg_specs

    op = item.op
    names = [t.name for t in op.inputs] + [t.name for t in op.output_tensors]
    for n in names:
        check_identifier(n, f"tensor name of {op.name}")
    rec = schedule.record
    return KernelInfo(
        name=item.name,
        function=item.name,
        c_function=f"opforge_{item.name}",
        op_name=op.name,
        workload_key=workload_key(op),
        workload_text=canonical_text(op),
        sizes=dict(op.sizes),
        config=schedule.config_json,
        source=schedule.source,
        args=arg_infos(names, arg_specs(op)),
        measured=Measured(tuple(rec.run_secs)) if rec is not None and rec.run_secs else None,
        record=_record_info(rec),
        trace_matches_record=_same_trace(trace, rec.trace) if rec is not None else None,
    )


def func_args(func: Any, n_outputs: int) -> tuple[ArgInfo, ...]:
    """ArgInfos of a scheduled PrimFunc's tensor parameters (names, shapes, dtypes; the last ``n_outputs`` written)."""
    params = list(func.params)
    for p in params:
        check_identifier(str(p.name), "tensor name")
    return tuple(
        ArgInfo(str(p.name), tuple(int(x) for x in p.shape), str(p.dtype), i >= len(params) - n_outputs) for i, p in enumerate(params)
    )


def prepacked_kernels(item: ExportItem, schedule: Schedule, target: Any) -> list[tuple[Any, KernelInfo]]:
    """A quantized schedule as two kernels: ``<name>_prepack`` (the float weight to its packed int8 form,
    run once per weight) and ``<name>`` (the same schedule over the packed weight, run per call)."""
    from schedules.config import Config
    from schedules.prepack import prepacked
    from schedules.quantize import program_of

    calibration = schedule.record.calibration if schedule.record is not None else None
    split = prepacked(program_of(item.op, schedule.config_json, calibration), Config.from_json(schedule.config_json), target)
    pre_name = f"{item.name}_prepack"
    check_identifier(pre_name, "kernel name")
    pre = split.prepack.mod["main"].with_attr("global_symbol", pre_name)
    main = split.main.mod["main"].with_attr("global_symbol", item.name)
    # the record's trace is of the whole kernel (weights quantized per call), so no trace comparison here
    base = kernel_info(item, schedule, target, None)
    pre_info = dataclasses.replace(
        base, name=pre_name, function=pre_name, c_function=f"opforge_{pre_name}", args=func_args(pre, len(split.weight_outputs)), measured=None
    )
    main_info = dataclasses.replace(base, args=func_args(main, len(item.op.output_tensors)), prepack=pre_name)
    return [(pre, pre_info), (main, main_info)]


def pack_weights(library: Path, kernel: KernelInfo, pre: KernelInfo, weights: dict[str, np.ndarray]) -> dict[str, str]:
    """Run ``pre`` (a prepack kernel of the just-written ``library``) on ``weights`` here, save its outputs
    beside the library as ``<kernel>.packed.npz``; returns ``kernel``'s ``bound`` arguments."""
    import tvm

    missing = sorted({a.name for a in pre.inputs} - set(weights))
    if missing:
        raise ValueError(f"{kernel.name}: weights give {sorted(weights)}, but its prepack needs {[a.name for a in pre.inputs]} (missing {missing})")
    dev = tvm.cpu()
    args = []
    for a in pre.inputs:
        w = np.asarray(weights[a.name])
        if w.shape != a.shape or str(w.dtype) != a.dtype:
            raise ValueError(f"{kernel.name}: weight {a.name} is {w.dtype}{list(w.shape)}, expected {a.dtype}{list(a.shape)}")
        args.append(tvm.runtime.tensor(np.ascontiguousarray(w), dev))
    outs = [tvm.runtime.tensor(np.zeros(a.shape, a.dtype), dev) for a in pre.outputs]
    tvm.runtime.load_module(str(library))[pre.function](*args, *outs)
    path = library.parent / f"{kernel.name}.packed.npz"
    np.savez(path, **{a.name: t.numpy() for a, t in zip(pre.outputs, outs)})
    return {a.name: path.name for a in pre.outputs}


def target_entry(target: Any) -> TargetEntry:
    return TargetEntry(
        name=target.name, kind=target.kind, canonical=target.canonical(), fingerprint=target.fingerprint(),
        tvm=dict(target.tvm), cores=target.cores, hardware=dict(target.hardware),
    )


def _dtype_codes(kernels: Sequence[KernelInfo]) -> dict[str, tuple[int, int]]:
    import tvm_ffi

    out = {}
    for k in kernels:
        for a in k.args:
            d = tvm_ffi.dtype(a.dtype)
            out[a.dtype] = (int(d.type_code), int(d.bits))
    return out


def compile_shim(source: str, header: str, lib_name: str, work_dir: str, cc: str) -> str:
    """The C shim compiled to an object file with ``cc`` (run as a C compiler), for linking into the library."""
    import tvm_ffi.libinfo

    src = os.path.join(work_dir, f"{lib_name}_shim.c")
    Path(src).write_text(source)
    Path(work_dir, f"{lib_name}.h").write_text(header)
    obj = os.path.join(work_dir, f"{lib_name}_shim.o")
    includes = {tvm_ffi.libinfo.find_include_path(), tvm_ffi.libinfo.find_dlpack_include_path(), work_dir}
    cmd = [cc, "-x", "c", "-std=gnu11", "-O2", "-fPIC", "-c", src, "-o", obj, *(f"-I{p}" for p in sorted(includes))]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"compiling the C shim failed ({' '.join(cmd)}):\n{proc.stderr.strip()}")
    return obj


def _tvm_runtime_lib() -> Path:
    import tvm

    path = Path(tvm.__file__).parent / "lib" / "libtvm_runtime.so"
    if not path.is_file():
        raise FileNotFoundError(f"no libtvm_runtime.so at {path}; the TVM wheel's runtime library is needed to bundle it")
    return path


def export_library(
    items: Sequence[ExportItem],
    target: Any,
    db: Any,
    out_dir: str | os.PathLike[str],
    lib_name: str | None = None,
    fallback: str | None = None,
    cc: str | None = None,
    bundle_runtime: bool = False,
    prepack: bool = False,
    weights: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> ExportResult:
    """Compile the best schedule of every item into ``out_dir/<lib_name>.so`` with its manifest and C header.

    ``lib_name`` defaults to the only item's name; ``cc`` is the compiler that links the library
    (default: the target's cross toolchain for edge targets, else TVM's choice, g++); ``bundle_runtime`` copies
    TVM's ``libtvm_runtime.so`` beside it, so a machine with only ``apache-tvm-ffi`` runs
    parallel kernels on TVM's thread pool. ``prepack`` exports a quantized kernel as ``<name>_prepack``
    and ``<name>`` (``prepacked_kernels``); ``weights`` (kernel name -> weight name -> array, CPU
    targets) runs each prepack here at export and binds the packed weights to the kernel.
    """
    import tvm
    from tvm.support import cc as tvm_cc

    if not items:
        raise ValueError("nothing to export: give at least one op")
    names = [it.name for it in items]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"kernel names repeat: {duplicates}; give each op its own name")
    for n in names:
        check_identifier(n, "kernel name")
    if lib_name is None:
        if len(items) != 1:
            raise ValueError("name the library (lib_name) when exporting several ops")
        lib_name = items[0].name
    check_identifier(lib_name, "library name")
    # an edge target's cross toolchain links (and compiles the shim) unless the caller names one
    compiler = cc or getattr(target, "toolchain", None) or tvm_cc.get_cc()
    if compiler is None or shutil.which(compiler) is None:
        raise RuntimeError(f"no compiler {compiler or 'g++'} to link the library for {target.name}; install it or pass cc=")

    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(names))
    if unknown:
        raise ValueError(f"weights name kernels {unknown} that are not exported; exported: {names}")
    if weights and not prepack:
        raise ValueError("weights are packed by the prepack kernels: export with prepack=True (--prepack)")
    if weights and (target.kind != "cpu" or getattr(target, "is_cross", False)):
        raise ValueError(f"weights can be packed at export only for this machine's CPU; on {target.name}, call each <name>_prepack kernel once on the device")
    funcs: dict[str, Any] = {}
    kernels: list[KernelInfo] = []
    for item in items:
        schedule = choose_schedule(db, item.op, target, fallback)
        if schedule.source == "default":
            logger.warning("no tuned record of %s on %s: exporting the untuned default schedule", item.name, target.name)
        if prepack and json.loads(schedule.config_json).get("quantize", "none") != "none":
            for func, info in prepacked_kernels(item, schedule, target):
                funcs[info.name] = func
                kernels.append(info)
            continue
        if item.name in weights:
            raise ValueError(f"{item.name}: its best kernel computes in float (nothing to prepack), so it takes its weights per call; drop them")
        calibration = schedule.record.calibration if schedule.record is not None else None
        func, trace = scheduled_kernel(item.op, item.name, schedule.config_json, target, calibration)
        info = kernel_info(item, schedule, target, trace)
        if info.trace_matches_record is False:
            logger.warning("%s: the replayed schedule trace differs from the recorded one (schedules/ changed since tuning?)", item.name)
        funcs[item.name] = func
        kernels.append(info)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    library = out / f"{lib_name}.so"
    header_path = out / f"{lib_name}.h"
    manifest_path = out / f"{lib_name}.json"
    header = header_source(lib_name, tuple(kernels))
    device_type = 2 if target.kind == "cuda" else 1  # DLPack's kDLCUDA / kDLCPU
    executable = tvm.compile(tvm.IRModule(funcs), target=target.tvm_target())
    with tempfile.TemporaryDirectory(prefix="opforge-export-") as work:
        shim = compile_shim(shim_source(lib_name, tuple(kernels), _dtype_codes(kernels), device_type), header, lib_name, work, compiler)
        executable.export_library(str(library), fcompile=tvm_cc.cross_compiler(compiler), addons=[shim])
    header_path.write_text(header)
    by_name = {k.name: k for k in kernels}
    for name, given in weights.items():
        k = by_name[name]
        assert k.prepack is not None
        bound = pack_weights(library, k, by_name[k.prepack], {w: np.asarray(a) for w, a in given.items()})
        kernels[kernels.index(k)] = dataclasses.replace(k, bound=bound)
    runtime_lib = None
    if bundle_runtime:
        runtime_lib = "libtvm_runtime.so"
        shutil.copyfile(_tvm_runtime_lib(), out / runtime_lib)
    opforge_version, tvm_version, ffi_version = _versions()
    manifest = Manifest(
        library=library.name,
        header=header_path.name,
        target=target_entry(target),
        kernels=tuple(kernels),
        opforge_version=opforge_version,
        tvm_version=tvm_version,
        tvm_ffi_version=ffi_version,
        created_at=datetime.now(timezone.utc).isoformat(),
        runtime_lib=runtime_lib,
    )
    manifest_path.write_text(manifest.to_json())
    return ExportResult(library, manifest_path, header_path, manifest)

