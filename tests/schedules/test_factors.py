import math

import pytest

from schedules.factors import pick_split, split_choices


@pytest.mark.parametrize("extent", [1, 7, 17, 56, 97, 1000, 1024])
@pytest.mark.parametrize("levels", [2, 4])
def test_every_split_covers_the_extent_without_a_whole_wasted_outer_step(extent, levels):
    for split in split_choices(extent, levels, 64):
        assert len(split) == levels
        inner = math.prod(split[1:])
        assert split[0] == math.ceil(extent / inner) and inner <= extent
        assert split[-1] <= 64


@pytest.mark.parametrize("extent", [17, 97, 100])
def test_extents_without_a_vector_friendly_divisor_get_guarded_power_of_two_splits(extent):
    guarded = [s for s in split_choices(extent, 4, 64) if math.prod(s) != extent]
    assert guarded and (3, 1, 1, 8) in split_choices(17, 4, 64)


@pytest.mark.parametrize("extent", [3, 56, 64, 1000])
def test_extents_with_a_vector_friendly_divisor_get_perfect_splits_only(extent):
    for levels in (2, 4):
        assert all(math.prod(s) == extent for s in split_choices(extent, levels, 64))
    assert len(split_choices(56, 4, 64)) == 80


def test_pick_split_prefers_the_wished_factors():
    assert pick_split(1024, 4, (16, 2, 4), 64) == (8, 16, 2, 4)
    assert pick_split(3, 2, (4,)) == (1, 3)
