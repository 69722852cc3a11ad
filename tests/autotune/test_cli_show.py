"""`opforge ops` and `opforge show` through click's runner: output, and one-line errors with exit code 2."""

import textwrap

import pytest
from click.testing import CliRunner

from autotune.cli import cli


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_ops_lists_matmul_with_its_dims(run):
    result = run("ops")
    assert result.exit_code == 0
    assert "matmul" in result.output and "M,K,N" in result.output
    assert "conv2d_nchw" in result.output


def test_show_prints_text_key_and_tir(run):
    result = run("show", "matmul", "--shape", "M=64,N=64,K=64")
    assert result.exit_code == 0, result.output
    assert "tensor<64x64xf32>" in result.output
    assert "iterator_types" in result.output
    assert "// workload key: " in result.output
    assert "T.prim_func" in result.output


def test_show_float16_changes_the_element_type(run):
    result = run("show", "matmul", "--shape", "M=16,N=16,K=16", "--dtype", "float16")
    assert result.exit_code == 0, result.output
    assert "tensor<16x16xf16>" in result.output


def test_show_conv_with_params(run):
    result = run("show", "conv2d_nchw", "--shape", "N=1,C=3,H=9,W=9,K=4,R=3,S=3", "--param", "stride=2,padding=1")
    assert result.exit_code == 0, result.output
    assert "tensor<1x4x5x5xf32>" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (("show", "matmull", "--shape", "M=1"), "unknown op 'matmull'; expected one of ["),
        (("show", "matmul"), "Missing option '--shape'"),
        (("show", "matmul", "--shape", "M=64,N=64"), "--shape is missing K; matmul needs M=...,K=...,N=..."),
        (("show", "matmul", "--shape", "M=64;N=2"), "malformed --shape item"),
        (("show", "matmul", "--shape", "M=64,N=0,K=4"), "--shape N=0: a size must be a positive integer"),
        (("show", "matmul", "--shape", "M=64,N=64,K=64,Q=3"), "--shape names Q, which matmul does not have; its dimensions are M,K,N"),
        (("show", "matmul", "--shape", "M=4,N=4,K=4", "--dtype", "float64"), "matmul does not take dtype 'float64'; expected one of"),
        (("show", "matmul", "--shape", "M=4,N=4,K=4", "--param", "stride=2"), "--param stride: matmul takes"),
    ],
)
def test_bad_input_is_one_line_with_exit_code_2(run, args, message):
    result = run(*args)
    assert result.exit_code == 2
    lines = [l for l in result.output.splitlines() if l.strip()]
    assert len(lines) == 1, result.output
    assert message in lines[0]
    assert "Traceback" not in result.output


def test_show_a_users_own_op_from_a_file(run, tmp_path):
    path = tmp_path / "my_ops.py"
    path.write_text(textwrap.dedent('''
        from dsl import Op, axes, compute, dims, exp, tensor

        def scaled_exp(dtype="float32", scale=2.0):
            (M,) = dims("M")
            X = tensor("X", (M,), dtype)
            (i,) = axes(i=M)
            return Op("scaled_exp", [X], [compute("Y", (i,), exp(X[i] * scale))])
    '''))
    result = run("show", f"{path}:scaled_exp", "--shape", "M=8", "--param", "scale=3.0")
    assert result.exit_code == 0, result.output
    assert "opforge.op @scaled_exp" in result.output
    assert "3.0" in result.output


def test_a_users_op_that_fails_verify_is_one_line(run, tmp_path):
    path = tmp_path / "bad_ops.py"
    path.write_text(textwrap.dedent('''
        from dsl import Op, axes, compute, dims, tensor
        (M,) = dims("M")
        X = tensor("X", (M,), "int8")
        Y = tensor("Y", (M,), "float32")
        (i,) = axes(i=M)
        mixed = Op("mixed", [X, Y], [compute("Z", (i,), X[i] + Y[i])])
    '''))
    result = run("show", f"{path}:mixed", "--shape", "M=8")
    assert result.exit_code == 2
    assert "mixed does not verify: stage Z: mixed dtypes without a cast in add" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_missing_user_file_is_one_line(run, tmp_path):
    result = run("show", f"{tmp_path}/nope.py:op", "--shape", "M=8")
    assert result.exit_code == 2
    assert "no such file" in result.output
