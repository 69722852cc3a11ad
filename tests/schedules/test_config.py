import numpy as np
import pytest
from hypothesis import given, strategies as st

from schedules import Config, ScheduleError

values = st.one_of(
    st.booleans(),
    st.integers(-(2**31), 2**31),
    st.text(max_size=8),
    st.lists(st.integers(0, 4096), max_size=5).map(tuple),
)


@given(st.dictionaries(st.text(min_size=1, max_size=12), values, max_size=8))
def test_json_round_trip_gives_an_equal_config(mapping):
    cfg = Config.of(mapping)
    assert Config.from_json(cfg.to_json()) == cfg
    assert hash(Config.from_json(cfg.to_json())) == hash(cfg)


def test_json_is_canonical_sorted_and_without_spaces():
    cfg = Config.of({"b.unroll": 16, "a.tile.i": [4, 2], "c.vectorize": True})
    assert cfg.to_json() == '{"a.tile.i":[4,2],"b.unroll":16,"c.vectorize":true}'
    assert list(cfg) == ["a.tile.i", "b.unroll", "c.vectorize"]


def test_lists_and_numpy_ints_normalize_to_plain_values():
    cfg = Config.of({"t": [np.int64(4), 2], "u": np.int32(3)})
    assert cfg["t"] == (4, 2) and type(cfg["u"]) is int


def test_bool_and_int_values_stay_distinct():
    assert Config.of({"k": True}) != Config.of({"k": 1})
    assert Config.from_json('{"k":1}')["k"] is not True


def test_replace_changes_one_knob_and_keeps_the_rest():
    cfg = Config.of({"C.unroll": 0, "C.vectorize": True})
    new = cfg.replace(**{"C.unroll": 64})
    assert new["C.unroll"] == 64 and new["C.vectorize"] is True and cfg["C.unroll"] == 0


@pytest.mark.parametrize("text, fragment", [("[1, 2]", "object"), ("{oops", "not valid JSON"), ('{"k": 1.5}', "float")])
def test_bad_json_raises_a_schedule_error_saying_what_is_expected(text, fragment):
    with pytest.raises(ScheduleError, match=fragment):
        Config.from_json(text)
