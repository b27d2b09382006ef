"""The run keys of planned folders: the `run` cell every planned CSV holds, read as columns."""

import pandas as pd
import pytest

from nas.reporting.planned_folder import REFERENCE, SEED, SELECT, RunKey, is_reference, run_key, with_keys

# Every cell a planned command writes (fidelity and table: seeds and the reference; finalize:
# selection and confirmation seeds; proxy-design: candidate seeds and the reference's seeds).
CELLS = {
    "seed0": RunKey(SEED, 0),
    "seed12": RunKey(SEED, 12),
    "select1": RunKey(SELECT, 1),
    "reference": RunKey(REFERENCE, 0),
    "reference.seed1": RunKey(REFERENCE, 1),
    "p3.seed1": RunKey(SEED, 1, "p3"),
    "p10.seed0": RunKey(SEED, 0, "p10"),
}


@pytest.mark.parametrize("cell, key", CELLS.items())
def test_a_cell_and_its_key_are_one_thing(cell, key):
    assert run_key(cell) == key and key.cell == cell
    assert is_reference(cell) == (key.role == REFERENCE)


@pytest.mark.parametrize("cell", ["", "seed", "p3.reference", "p3.select", "seedx", "a.b.seed1", "reference.select1"])
def test_a_cell_no_planned_run_writes_is_refused_in_words(cell):
    with pytest.raises(ValueError, match="is not a planned run's name"):
        run_key(cell)
    assert not is_reference(cell)


def test_the_keys_become_columns_of_a_frame():
    frame = with_keys(pd.DataFrame({"run": list(CELLS), "reward": range(len(CELLS))}))
    assert list(frame["role"]) == [k.role for k in CELLS.values()]
    assert list(frame["seed_index"]) == [0, 12, 1, 0, 1, 1, 0] and list(frame["proxy"]) == ["", "", "", "", "", "p3", "p10"]
    assert frame.loc[frame["role"] == REFERENCE, "reward"].tolist() == [3, 4]  # the reference's two seeds, not p3's seed 1
