import dataclasses
import math
import re

import numpy as np
import pytest
import tvm
from tvm import s_tir

from cases import check_config
from dsl import library
from schedules import Config, ScheduleError, apply, apply_with_trace, show_scheduled, space_for


def allocations(sch):
    """Buffer name -> shape of every intermediate after TVM places and compacts allocations."""
    t = s_tir.transform
    mod = tvm.transform.Sequential([t.LowerInitBlock(), t.PlanAndUpdateBufferAllocationLocation(), t.ConvertBlocksToOpaque(), t.CompactBufferAllocation()])(sch.mod)
    text = mod["main"].script()
    out = {}
    for line in text.splitlines():
        if "sblock_alloc_buffer((" in line:
            name = line.split("=")[0].strip()
            shape = line.split("sblock_alloc_buffer((")[1].split(")")[0]
            out[name] = tuple(int(x) for x in shape.split(",") if x.strip())
    return out


def test_apply_is_deterministic_and_the_trace_replays_to_the_same_program(cpu):
    op = library.get("dense", bias=True, epilogue="relu").bind(M=17, N=40, K=24)
    cfg = space_for(op, cpu).sample(1, np.random.default_rng(5))[0]
    sch1, trace1 = apply_with_trace(op, cfg, cpu)
    sch2, trace2 = apply_with_trace(op, cfg, cpu)
    assert trace1 == trace2
    tvm.ir.assert_structural_equal(sch1.mod, sch2.mod)
    from dsl.lower import lower

    replay = s_tir.Schedule(lower(op))
    s_tir.Trace.apply_json_to_schedule(tvm.ir.load_json(trace1), replay)
    tvm.ir.assert_structural_equal(replay.mod, sch1.mod)


def test_an_out_of_domain_value_raises_one_error_naming_knob_and_choices(cpu):
    op = library.get("matmul").bind(M=16, N=16, K=16)
    cfg = space_for(op, cpu).default().replace(**{"C.tile.j": (1, 1, 1, 15)})
    with pytest.raises(ScheduleError, match=r"knob C.tile.j: value \(1,1,1,15\) is not valid; valid values are"):
        apply(op, cfg, cpu)


def test_matmul_space_has_the_cpu_knobs(cpu):
    names = space_for(library.get("matmul").bind(M=64, N=64, K=64), cpu).names
    for knob in ("C.tile.i", "C.tile.j", "C.tile.k", "C.write_at", "C.pack.A", "C.pack.B", "C.parallel",
                 "C.vectorize", "C.unroll", "C.unroll_regs", "C.tensorize", "quantize"):
        assert knob in names


def test_tile_knobs_split_spatial_loops_in_four_and_reduction_loops_in_two(cpu):
    space = space_for(library.get("matmul").bind(M=64, N=64, K=64), cpu)
    assert {len(v) for v in space.knob("C.tile.i").choices} == {4}
    assert {len(v) for v in space.knob("C.tile.k").choices} == {2}


def test_one_core_leaves_parallel_only_off(cpu1):
    space = space_for(library.get("matmul").bind(M=64, N=64, K=64), cpu1)
    assert space.knob("C.parallel").choices == (0,)


def test_vector_choices_follow_the_target_lanes(cpu):
    lanes = cpu.vector_lanes(32)
    space = space_for(library.get("relu").bind(M=8, N=256), cpu)
    assert space.knob("Y.vector").choices == (1, lanes, 2 * lanes, 4 * lanes)
    assert space.default()["Y.vector"] == lanes


def test_the_dense_epilogue_is_computed_inside_the_tile(cpu):
    op = library.get("dense", bias=True, epilogue="relu").bind(M=64, N=64, K=32)
    space = space_for(op, cpu)
    fused = apply(op, space.default().replace(**{"C.write_at": 2}), cpu)
    assert allocations(fused)["C"] != (64, 64)  # only a tile of C is live
    unfused = apply(op, space.default().replace(**{"C.write_at": 0}), cpu)
    assert allocations(unfused)["C"] == (64, 64)


def test_softmax_rows_are_computed_at_the_row_loop_without_full_size_intermediates(cpu):
    op = library.get("softmax").bind(M=32, N=64)
    space = space_for(op, cpu)
    for e_choice in ("inline", "at_consumer"):
        cfg = space.default().replace(**{"E.compute": e_choice, "row_max.compute": "at_consumer", "row_sum.compute": "at_consumer"})
        sizes = allocations(apply(op, cfg, cpu))
        assert all(np.prod(shape) <= 64 for shape in sizes.values()), sizes
    rooted = space.default().replace(**{"E.compute": "root"})
    assert allocations(apply(op, rooted, cpu))["E"] == (32, 64)


def test_layer_norm_statistics_are_computed_per_row(cpu):
    op = library.get("layer_norm").bind(M=16, N=48)
    sizes = allocations(apply(op, space_for(op, cpu).default(), cpu))
    assert sizes.get("mean", (1,)) == (1,) and sizes.get("var", (1,)) == (1,)


def test_a_packed_panel_is_laid_out_for_the_vector_loop(cpu):
    op = library.get("dense").bind(M=32, N=64, K=48)
    cfg = space_for(op, cpu).default().replace(**{"C.pack.W": 1, "C.tile.j": (2, 1, 2, 16)})
    text = show_scheduled(op, cfg, cpu)
    assert "W_global[v1, v0] = W[v0, v1]" in text  # W[j, k] packed as [k, j]


def test_a_whole_buffer_packed_once_is_laid_out_in_register_tile_panels(cpu):
    op = library.get("dense", bias=True, epilogue="relu").bind(M=32, N=64, K=48)
    cfg = space_for(op, cpu).default().replace(**{"C.pack.W": 3, "C.tile.j": (2, 1, 2, 16)})
    text = show_scheduled(op, cfg, cpu)
    assert "W_global = T.sblock_alloc_buffer((4, 48, 16))" in text  # W[j, k] as [j // 16, k, j % 16]
    assert text.index("T.parallel") < text.index('T.sblock("W_global")') < text.index('T.sblock("C_init")')  # once, first, in parallel
    check_config(op, cfg, cpu, np.random.default_rng(0))


@pytest.mark.parametrize("n, tile_j", [(64, (1, 1, 1, 64)), (17, (2, 1, 1, 16))])  # panel = whole dim; 16 does not divide 17
def test_a_whole_buffer_packed_once_without_a_dividing_panel_keeps_rows(cpu, n, tile_j):
    op = library.get("dense").bind(M=8, N=n, K=24)
    cfg = space_for(op, cpu).default().replace(**{"C.pack.W": 3, "C.tile.j": tile_j})
    assert f"W_global = T.sblock_alloc_buffer((24, {n}))" in show_scheduled(op, cfg, cpu)
    check_config(op, cfg, cpu, np.random.default_rng(1))


@pytest.mark.parametrize("extents", [dict(M=17, N=97, K=13), dict(M=100, N=17, K=13)])
def test_guarded_tiles_of_non_divisible_extents_give_exact_results(cpu, extents):
    op = library.get("dense", bias=True, epilogue="relu").bind(**extents)
    space = space_for(op, cpu)
    m, n, k = extents["M"], extents["N"], extents["K"]
    guarded = space.default().replace(**{
        "C.tile.i": [c for c in space.knob("C.tile.i").choices if np.prod(c) != m][-1],
        "C.tile.j": [c for c in space.knob("C.tile.j").choices if np.prod(c) != n][-1],
        "C.tile.k": [c for c in space.knob("C.tile.k").choices if np.prod(c) != k][0],
        "C.pack.X": 1, "C.pack.W": 2,
    })
    assert "T.where" in show_scheduled(op, guarded, cpu)
    check_config(op, guarded, cpu, np.random.default_rng(0))


def test_show_scheduled_prints_tvmscript(cpu):
    op = library.get("relu").bind(M=8, N=64)
    text = show_scheduled(op, space_for(op, cpu).default(), cpu)
    assert "T.vectorized" in text and "@T.prim_func" in text


def test_config_from_another_op_is_rejected(cpu):
    matmul = space_for(library.get("matmul").bind(M=8, N=8, K=8), cpu).default()
    with pytest.raises(ScheduleError, match="unknown knob"):
        apply(library.get("relu").bind(M=8, N=8), matmul, cpu)


def test_a_config_json_from_disk_applies(cpu, tmp_path):
    op = library.get("matmul").bind(M=16, N=16, K=16)
    path = tmp_path / "cfg.json"
    path.write_text(space_for(op, cpu).default().to_json())
    apply(op, Config.from_json(path.read_text()), cpu)


def test_the_default_register_tile_blocks_the_loop_that_reuses_each_loaded_vector(cpu):
    # conv2d NCHW: the output channel (not the output row, which indexes the input) reuses each
    # input row; a 56-wide row no multiple of 16 lanes divides gets a register tile of one partial
    # register (14), so 8 output channels make the 8 accumulators
    lanes = cpu.vector_lanes(32)
    conv = space_for(library.get("conv2d_nchw", padding=1).bind(N=1, C=64, H=56, W=56, K=64, R=3, S=3), cpu).default()
    assert conv["Y.tile.k"][-1] == 8 and conv["Y.tile.oh"][-1] == 1
    assert conv["Y.tile.ow"][-1] == max(d for d in (1, 2, 4, 7, 8, 14, 28, 56) if d <= lanes)
    # matmul: the row loop i reuses each row of B; the vector tile is two registers wide, 4 rows
    mm = space_for(library.get("matmul").bind(M=256, N=256, K=256), cpu).default()
    assert mm["C.tile.i"][-1] == 4 and mm["C.tile.j"][-1] == 2 * lanes


def test_a_vector_register_tile_fills_most_of_one_register_or_whole_registers(cpu):
    cpu = dataclasses.replace(cpu, full_rate_bits=None)  # units that run every vector width at full rate
    lanes = cpu.vector_lanes(32)
    space = space_for(library.get("conv2d_nchw", padding=1).bind(N=1, C=64, H=56, W=56, K=64, R=3, S=3), cpu)
    inner = {c[-1] for c in space.knob("Y.tile.ow").choices}
    fullest = max(d for d in (1, 2, 4, 7, 8, 14, 28, 56) if d <= lanes)  # 14 of 16 lanes
    assert inner == {d for d in (1, 2, 4, 7, 8, 14, 28, 56) if min(math.ceil(3 * lanes / 4), fullest) <= d <= lanes or d % lanes == 0}
    assert {c[-1] for c in space.knob("Y.tile.k").choices} == {1, 2, 4, 8, 16, 32, 64}  # other loops keep every factor
    mm = space_for(library.get("matmul").bind(M=64, N=1024, K=64), cpu)
    fills = {d for d in (1, 2, 4, 8, 16, 32, 64) if d % lanes == 0 or math.ceil(3 * lanes / 4) <= d <= lanes}
    assert {c[-1] for c in mm.knob("C.tile.j").choices} == fills  # 16, 32, 64 with 16 lanes
    short = space_for(library.get("matmul").bind(M=64, N=7, K=64), cpu)
    assert {c[-1] for c in short.knob("C.tile.j").choices} == {7}  # a loop shorter than a register: the whole loop


def test_units_that_run_half_a_register_at_full_rate_are_offered_tiles_of_half_a_register(cpu):
    # Zen 4: 512-bit AVX-512 on 256-bit units; conv2d's 56-wide rows split into 7 x 8 lanes without waste
    zen4 = dataclasses.replace(cpu, vector_bits=512, full_rate_bits=256)
    conv = library.get("conv2d_nchw", padding=1).bind(N=1, C=64, H=56, W=56, K=64, R=3, S=3)
    half = space_for(conv, zen4)
    assert {c[-1] for c in half.knob("Y.tile.ow").choices} == {7, 8, 14}
    whole = space_for(conv, dataclasses.replace(zen4, full_rate_bits=None))
    assert {c[-1] for c in whole.knob("Y.tile.ow").choices} == {14}
    assert half.default() == whole.default()  # only the search sees more
    mm = space_for(library.get("matmul").bind(M=64, N=1024, K=64), zen4)
    assert {c[-1] for c in mm.knob("C.tile.j").choices} == {8, 16, 32, 64}
    cfg = half.default().replace(**{"Y.tile.ow": (1, 1, 7, 8), "Y.tile.oh": (8, 1, 1, 7), "Y.tile.k": (8, 2, 2, 2)})
    assert "T.vectorized(8)" in apply(conv, cfg, zen4).mod["main"].script()


def unrolled(sch):
    """Loop name -> extent of every loop the scheduled program unrolls explicitly."""
    return {name: int(n) for name, n in re.findall(r"for (\w+) in T\.unroll\((\d+)\)", sch.mod["main"].script())}


def test_unroll_regs_unrolls_a_register_tile_that_fits_the_register_file_whole(cpu):
    op = library.get("matmul").bind(M=64, N=64, K=64)
    cfg = space_for(op, cpu).default().replace(**{"C.unroll_regs": True, "C.tile.i": (1, 1, 8, 8), "C.tile.j": (1, 1, 2, 32)})
    assert unrolled(apply(op, cfg, cpu)) == {"i_3_init": 8, "i_3": 8}


@pytest.mark.parametrize("vectorize", [True, False])
def test_unroll_regs_leaves_the_loops_of_a_register_tile_beyond_32_registers_rolled(cpu, vectorize):
    # 64 x 8 copies of a 14-lane vector, unrolled whole, took LLVM 24-30 s to build (0.2 s rolled);
    # the 8 rows of one vector fit, the 64 channels around them do not (LLVM vectorizes the 14
    # lanes itself when the schedule does not, so they count as a register then too)
    op = library.get("conv2d_nchw", padding=1).bind(N=1, C=64, H=56, W=56, K=64, R=3, S=3)
    cfg = space_for(op, cpu).default().replace(**{
        "Y.unroll_regs": True, "Y.vectorize": vectorize, "Y.tile.k": (1, 1, 1, 64), "Y.tile.oh": (7, 1, 1, 8), "Y.tile.ow": (2, 1, 2, 14),
    })
    assert unrolled(apply(op, cfg, cpu)) == {"oh_3_init": 8, "oh_3": 8}
