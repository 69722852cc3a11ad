"""`opforge space` through click's runner: knobs, domains and the size; one-line errors."""

from click.testing import CliRunner

from autotune.cli import cli


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_space_prints_knobs_domains_and_size():
    result = run("space", "matmul", "--shape", "M=64,N=64,K=64", "--target", "cpu:1")
    assert result.exit_code == 0, result.output
    for text in ("C.tile.i", "C.pack.B", "{0, 16, 64, 512}", "int8 compute", "space size: "):
        assert text in result.output
    from dsl import library
    from schedules import space_for
    from targets import get_target

    size = space_for(library.get("matmul").bind(M=64, N=64, K=64), get_target("cpu:1")).size
    assert f"space size: {size} " in result.output


def test_space_takes_op_params():
    result = run("space", "conv2d_nchw", "--shape", "N=1,C=4,H=8,W=8,K=4,R=3,S=3", "--param", "padding=1", "--no-docs")
    assert result.exit_code == 0, result.output
    assert "Y.tile.c" in result.output and "what it does" not in result.output


def test_space_names_an_unknown_target():
    result = CliRunner().invoke(cli, ["space", "matmul", "--shape", "M=4,N=4,K=4", "--target", "tpu"])
    assert result.exit_code == 2 and "unknown target 'tpu'" in result.output
