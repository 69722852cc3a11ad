"""PyTorch: an exported kernel as ``torch.ops.opforge.<name>``, traced by ``torch.compile`` through its fake."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from autotune.export import load  # noqa: E402
from autotune.export.torch_op import register  # noqa: E402


@pytest.fixture
def mm_op(exported_dir: Path, request: pytest.FixtureRequest):
    handle = register(exported_dir / "matmul.so", name=f"mm_{request.node.name[5:25]}")
    yield handle
    handle.close()


def test_the_op_runs_the_kernel(mm_op, exported_dir: Path) -> None:
    a, b = torch.randn(64, 64, generator=torch.Generator().manual_seed(0)), torch.randn(64, 64)
    out = getattr(torch.ops.opforge, mm_op.qualname.split("::")[1])(a, b)
    assert out.shape == (64, 64) and out.dtype == torch.float32
    assert np.array_equal(out.numpy(), load(exported_dir / "matmul.so")(a.numpy(), b.numpy()))


def test_the_op_passes_torch_opcheck(mm_op) -> None:
    torch.library.opcheck(mm_op.op, (torch.randn(64, 64), torch.randn(64, 64)))


def test_torch_compile_traces_the_op_without_graph_breaks(mm_op) -> None:
    def model(x, y):
        return torch.relu(mm_op.op(x, y)) * 2

    a, b = torch.randn(64, 64), torch.randn(64, 64)
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    assert torch.equal(compiled(a, b), model(a, b))


def test_wrong_shapes_are_refused_while_tracing(mm_op) -> None:
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode(), pytest.raises(ValueError, match=r"A is torch.float32 \(32, 64\), the kernel takes torch.float32 \(64, 64\)"):
        mm_op.op(torch.empty(32, 64), torch.empty(64, 64))


def test_registering_a_name_twice_is_an_error(mm_op, exported_dir: Path) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(exported_dir / "matmul.so", name=mm_op.qualname.split("::")[1])


@pytest.mark.slow
def test_inductor_compiles_a_model_around_the_op(mm_op) -> None:
    def model(x, y):
        return torch.relu(mm_op.op(x, y)) + 1

    a, b = torch.randn(64, 64), torch.randn(64, 64)
    assert torch.allclose(torch.compile(model, fullgraph=True)(a, b), model(a, b))
