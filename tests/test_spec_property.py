"""Property: any spec either builds and runs forward, or is rejected with SpecError."""

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search_space import SpecError, build_backbone
from search_space.spec import from_dict

block = st.fixed_dictionaries(
    {
        "level": st.one_of(st.integers(0, 9), st.sampled_from(["3", None])),
        "block_fn": st.sampled_from(["bottleneck", "residual", "dense"]),
        "parents": st.lists(st.integers(-1, 18), min_size=1, max_size=3),
        "is_output": st.one_of(st.booleans(), st.just("yes")),
    }
)
stem = st.lists(
    st.fixed_dictionaries({"level": st.integers(1, 6), "repeats": st.integers(0, 2)}), min_size=0, max_size=4
)


@st.composite
def near_valid(draw):
    """Mostly valid specs: random levels, types and earlier parents, outputs L3..L7 placed last."""
    n_inter = draw(st.integers(0, 6))
    blocks = []
    for i in range(n_inter + 5):
        hi = 2 + i
        p0 = draw(st.integers(0, hi - 1))
        p1 = draw(st.integers(0, hi - 1))
        blocks.append({"level": draw(st.integers(2, 7)), "block_fn": draw(st.sampled_from(["bottleneck", "residual"])), "parents": [p0, p1]})
    outs = draw(st.permutations([3, 4, 5, 6, 7]))
    for b, lv in zip(blocks[n_inter:], outs):
        b.update(level=lv, is_output=True)
    return {"name": "h", "blocks": blocks}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(near_valid(), st.fixed_dictionaries({"name": st.just("r"), "blocks": st.lists(block, max_size=8)}), st.fixed_dictionaries({"name": st.just("s"), "stem": stem, "blocks": st.lists(block, max_size=6)})))
def test_any_spec_builds_or_is_rejected(data):
    try:
        arch = from_dict(data)
    except SpecError:
        return
    model = build_backbone(arch, filter_size_scale=0.125, resample_alpha=0.25, endpoints_num_filters=8).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 128, 128))
    assert sorted(out) == [3, 4, 5, 6, 7]
    assert all(torch.isfinite(t).all() for t in out.values())
