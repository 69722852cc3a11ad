import numpy as np
import pytest

from schedules import Config, Knob, ScheduleError, Space


@pytest.fixture
def space():
    return Space((
        Knob("C.tile.i", ((4, 2, 2), (2, 4, 2), (1, 16, 1)), default=(2, 4, 2)),
        Knob("C.unroll", (0, 16, 64, 512)),
        Knob("C.vectorize", (True, False)),
        Knob("C.compute", ("inline", "root")),
    ))


def test_size_is_the_product_of_domain_sizes(space):
    assert space.size == 3 * 4 * 2 * 2


def test_default_uses_the_knob_defaults_and_is_valid(space):
    d = space.default()
    assert d["C.tile.i"] == (2, 4, 2) and d["C.unroll"] == 0
    assert space.is_valid(d)


def test_check_names_knob_value_and_valid_choices(space):
    bad = space.default().replace(**{"C.unroll": 7})
    with pytest.raises(ScheduleError) as e:
        space.check(bad)
    msg = str(e.value)
    assert "C.unroll" in msg and "7" in msg and "{0, 16, 64, 512}" in msg
    assert not space.is_valid(bad)


def test_check_rejects_missing_and_unknown_knobs(space):
    values = dict(space.default())
    del values["C.unroll"]
    with pytest.raises(ScheduleError, match="no value for knob C.unroll"):
        space.check(Config.of(values))
    with pytest.raises(ScheduleError, match="unknown knob 'X.y'"):
        space.check(space.default().replace(**{"X.y": 1}))


def test_check_rejects_a_bool_for_an_int_knob(space):
    with pytest.raises(ScheduleError, match="C.unroll"):
        space.check(space.default().replace(**{"C.unroll": False}))


def test_check_explains_tile_tuples_of_the_wrong_width(space):
    with pytest.raises(ScheduleError, match="3 tile factors"):
        space.check(space.default().replace(**{"C.tile.i": (4, 4)}))


def test_sample_gives_valid_distinct_configs_reproducibly(space):
    a = space.sample(20, np.random.default_rng(3))
    b = space.sample(20, np.random.default_rng(3))
    assert a == b and len(set(a)) == 20 and all(space.is_valid(c) for c in a)


def test_sample_more_than_the_space_holds_repeats_configs():
    tiny = Space((Knob("a", (1, 2)),))
    assert len(tiny.sample(5, np.random.default_rng(0))) == 5


def test_neighbors_differ_in_exactly_one_knob(space):
    cfg = space.default()
    ns = space.neighbors(cfg, np.random.default_rng(1), k=6)
    assert len(ns) == 6 and len(set(ns)) == 6
    for n in ns:
        assert space.is_valid(n)
        assert sum(n[k] != cfg[k] for k in space.names) == 1


def test_exchange_moves_a_prime_factor_between_two_tiles_of_one_block_at_one_level():
    from schedules.factors import split_choices

    tiles = Space((
        Knob("C.tile.i", split_choices(64, 4, 64), default=(16, 1, 1, 4)),
        Knob("C.tile.j", split_choices(56, 4, 64), default=(4, 1, 1, 14)),
        Knob("D.tile.x", split_choices(32, 4, 64), default=(1, 1, 1, 32)),
        Knob("C.unroll", (0, 16)),
    ))
    cfg, rng = tiles.default(), np.random.default_rng(0)
    moves = [tiles.exchange(cfg, rng) for _ in range(40)]
    for m in moves:
        assert m is not None and tiles.is_valid(m)
        changed = {k for k in tiles.names if m[k] != cfg[k]}
        assert changed == {"C.tile.i", "C.tile.j"}  # D's tile is another block's; unroll is no tile
        i, j, i0, j0 = m["C.tile.i"], m["C.tile.j"], cfg["C.tile.i"], cfg["C.tile.j"]
        levels = [lv for lv in (1, 2, 3) if i[lv] * j[lv] == i0[lv] * j0[lv] and i[lv] != i0[lv]]
        assert levels, (i, j)  # one level's product over the two loops is kept
        ratio = max(i[levels[0]], i0[levels[0]]) // min(i[levels[0]], i0[levels[0]])
        assert ratio in (2, 7)  # by one prime factor
    # the register tile of 4 x 14 = 56 becomes 8 x 7 (a 2 moved inward) or 2 x 28 (outward)
    inner = {(m["C.tile.i"][3], m["C.tile.j"][3]) for m in moves}
    assert (8, 7) in inner and (2, 28) in inner


def test_exchange_is_none_without_two_tiles_of_one_block(space):
    assert space.exchange(space.default(), np.random.default_rng(0)) is None


def test_crossover_takes_every_value_from_a_parent(space):
    rng = np.random.default_rng(2)
    a, b = space.sample(2, rng)
    child = space.crossover(a, b, rng)
    assert space.is_valid(child)
    assert all(child[k] in (a[k], b[k]) for k in space.names)


def test_encode_has_a_fixed_length(space):
    rng = np.random.default_rng(4)
    lengths = {space.encode(c).shape for c in space.sample(10, rng)}
    assert lengths == {(3 + 1 + 1 + 1,)}


def test_knob_rejects_an_empty_or_repeated_domain_and_a_foreign_default():
    with pytest.raises(ScheduleError, match="empty"):
        Knob("a", ())
    with pytest.raises(ScheduleError, match="repeats"):
        Knob("a", (1, 1))
    with pytest.raises(ScheduleError, match="default 3"):
        Knob("a", (1, 2), default=3)


def test_a_near_tile_moves_one_factor_between_two_levels():
    from schedules.space import near_choice

    choices = ((8, 16, 2, 4), (8, 32, 1, 4), (4, 16, 4, 4), (1, 1, 1, 1024), (64, 1, 1, 16))
    rng = np.random.default_rng(0)
    picks = {near_choice(choices, 0, rng) for _ in range(40)}
    assert picks == {(8, 32, 1, 4), (4, 16, 4, 4)}  # one factor of 2 moved; the far splits never


def test_a_near_depth_is_the_next_one_and_names_are_all_near():
    from schedules.space import near_choice

    rng = np.random.default_rng(0)
    assert {near_choice((0, 16, 64, 512), 2, rng) for _ in range(40)} == {16, 512}
    assert {near_choice(("ij", "ji", "kij"), 0, rng) for _ in range(40)} == {"ji", "kij"}


def test_neighbors_without_near_moves_draw_any_other_value(space):
    cfg = space.default()
    ns = space.neighbors(cfg, np.random.default_rng(1), k=6, near=0.0)
    assert len(ns) == 6 and all(sum(n[k] != cfg[k] for k in space.names) == 1 for n in ns)
