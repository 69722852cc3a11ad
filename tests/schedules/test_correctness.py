"""Random configs from each library op's CPU space apply, compile and match dsl.reference.

The default run checks the default config and 2 random ones per op at its smallest size; the
slow sweep (``-m slow``) checks 30 random configs at each of 3 sizes (one with odd or prime extents).
"""

import numpy as np
import pytest

from cases import CASES, build, case_id, check_config
from schedules import space_for

IDS = [case_id(name, params) for name, params, _ in CASES]


@pytest.mark.parametrize("name, params, shapes", CASES, ids=IDS)
def test_default_and_random_configs_match_the_reference(cpu, name, params, shapes):
    op = build(name, params, shapes[0])
    space = space_for(op, cpu)
    rng = np.random.default_rng(7)
    for cfg in [space.default()] + space.sample(2, rng):
        check_config(op, cfg, cpu, rng)


@pytest.mark.parametrize("name, params, shapes", CASES, ids=IDS)
def test_random_configs_match_at_an_odd_size(cpu, name, params, shapes):
    op = build(name, params, shapes[2])
    rng = np.random.default_rng(11)
    check_config(op, space_for(op, cpu).sample(1, rng)[0], cpu, rng)


@pytest.mark.slow
@pytest.mark.parametrize("size", [0, 1, 2])
@pytest.mark.parametrize("name, params, shapes", CASES, ids=IDS)
def test_thirty_random_configs_match_at_three_sizes(cpu, name, params, shapes, size):
    op = build(name, params, shapes[size])
    space = space_for(op, cpu)
    rng = np.random.default_rng(1000 + size)
    for cfg in space.sample(30, rng):
        check_config(op, cfg, cpu, rng)
