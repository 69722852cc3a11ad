import tvm
from tvm.script import tirx as T

from dsl import library
from schedules import program_of, space_for


def roles(op):
    return {b.name: b.role for b in program_of(op).blocks}


def test_matmul_is_one_tiled_block_named_by_the_dsl_axes():
    prog = program_of(library.get("matmul").bind(M=8, N=8, K=8))
    (c,) = prog.blocks
    assert c.role == "tiled" and [(it.name, it.kind) for it in c.iters] == [("i", "S"), ("j", "S"), ("k", "R")]
    assert c.is_output


def test_softmax_stages_are_row_reductions_and_element_wise_blocks():
    assert roles(library.get("softmax").bind(M=4, N=8)) == {"row_max": "reduction", "E": "spatial", "row_sum": "reduction", "Y": "spatial"}


def test_a_broadcast_scalar_read_is_not_reuse():
    # layer norm's mean reads count[()]: that does not make it a tiled (matmul-like) block
    assert roles(library.get("layer_norm").bind(M=4, N=8))["mean"] == "reduction"


def test_conv_and_depthwise_conv_are_tiled():
    assert roles(library.get("conv2d_nchw", padding=1).bind(N=1, C=2, H=5, W=5, K=2, R=3, S=3)) == {"Y": "tiled"}
    assert set(roles(library.get("depthwise_conv2d_nchw").bind(N=1, C=2, H=5, W=5, R=3, S=3)).values()) == {"tiled"}


def test_dense_epilogue_reads_the_matmul_output_point_for_point():
    prog = program_of(library.get("dense", bias=True, epilogue="relu").bind(M=4, N=8, K=8))
    y = prog.block("Y")
    assert y.role == "spatial" and y.read("C").identity and not y.read("bias").identity
    assert prog.block("C").consumers == ("Y",)


@T.prim_func(s_tir=True)
def _hand_written(a: T.Buffer((16, 12), "float32"), b: T.Buffer((16,), "float32")):
    for i, j in T.grid(16, 12):
        with T.sblock("rowsum"):
            vi, vj = T.axis.remap("SR", [i, j])
            with T.init():
                b[vi] = T.float32(0)
            b[vi] = b[vi] + a[vi, vj] * T.float32(2)


def test_a_hand_written_primfunc_gets_a_space_by_the_same_rules(cpu):
    prog = program_of(_hand_written)
    assert [(b.name, b.role) for b in prog.blocks] == [("rowsum", "reduction")]
    assert [it.name for it in prog.blocks[0].iters] == ["vi", "vj"]
    assert "rowsum.order" in space_for(_hand_written, cpu).names
    assert isinstance(_hand_written, tvm.tirx.PrimFunc)
