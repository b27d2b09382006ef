"""The R-SP search spaces of the paper (section 3) as a sequence of categorical decisions.

For block i (intermediate blocks first, then the five output blocks) the decisions are:

- ``level``: the base level, taken from the blocks still unplaced (intermediate or output pool);
- ``shift`` (block adjustments only, intermediate blocks): level change in {-1, 0, +1, +2};
- ``block_fn`` (block adjustments only): bottleneck or residual;
- ``parent`` twice: the two parents, ascending (parents are summed, so their order carries no
  information); intermediate blocks choose among the last ``parent_window`` nodes built (stem
  candidates included), output blocks among all earlier nodes.

Every decision of a kind shares one softmax head in the controller, so each kind has one size;
`mask(prefix)` says which of its categories are valid after the choices in `prefix`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from search_space.registry import Registry
from search_space.spec import (
    BLOCK_FNS,
    MAX_LEVEL,
    MIN_LEVEL,
    OUTPUT_LEVELS,
    Architecture,
    BlockSpec,
    SpecError,
    StemGroup,
)

LEVELS: tuple[int, ...] = tuple(range(MIN_LEVEL, MAX_LEVEL + 1))
SHIFTS: tuple[int, ...] = (-1, 0, 1, 2)


@dataclass(frozen=True)
class Decision:
    """One categorical choice: its kind (which controller head), size and the block it shapes."""

    kind: str
    size: int
    block: int
    name: str


@dataclass(frozen=True)
class SpaceDefinition:
    """Block pools of an R-SP space: stem and scale-permuted blocks per level (paper, section 3)."""

    name: str
    stem_blocks: tuple[int, int, int, int]  # L2..L5
    permuted_blocks: tuple[int, int, int, int, int, int]  # L2..L7


DEFINITIONS: dict[str, SpaceDefinition] = {
    d.name: d
    for d in (
        SpaceDefinition("r35_sp18", (2, 3, 5, 1), (1, 1, 1, 1, 1, 1)),
        SpaceDefinition("r23_sp30", (2, 2, 2, 1), (1, 2, 4, 1, 1, 1)),
        SpaceDefinition("r14_sp39", (1, 1, 1, 1), (2, 3, 5, 1, 1, 1)),
        SpaceDefinition("r0_sp53", (2, 0, 0, 0), (1, 4, 6, 2, 1, 1)),
    )
}


def stem_groups(stem_blocks: Sequence[int]) -> tuple[StemGroup, ...]:
    """Stem groups whose outputs are the parent candidates (a design choice, see docs/search_space.md).

    Each L2 stem block is its own candidate, as the two L2 blocks are in SpineNet; deeper stem
    levels (a truncated ResNet-50) offer the last block of each level.
    """
    groups = [StemGroup(2) for _ in range(stem_blocks[0])]
    groups += [StemGroup(level, "bottleneck", n) for level, n in zip((3, 4, 5), stem_blocks[1:]) if n > 0]
    return tuple(groups)


class SearchSpace:
    """A scale-permuted search space: decisions, masks, encode/decode and sampling."""

    def __init__(self, definition: SpaceDefinition, block_adjustments: bool = False, parent_window: int | None = 5) -> None:
        self.definition = definition
        self.name = definition.name
        self.block_adjustments = block_adjustments
        if parent_window is not None and parent_window < 2:
            raise ValueError(f"parent_window must be >= 2 (two distinct parents) or None, got {parent_window}")
        self.parent_window = parent_window
        self.stem = stem_groups(definition.stem_blocks)
        self.num_stem = len(self.stem)
        if self.num_stem < 2:
            raise ValueError(f"space {self.name}: the first block needs two stem candidates, got {self.num_stem}")
        pool = Counter({lv: n for lv, n in zip(LEVELS, definition.permuted_blocks) if n})
        for lv in OUTPUT_LEVELS:
            if pool[lv] < 1:
                raise ValueError(f"space {self.name}: no block at L{lv} to serve as its output")
            pool[lv] -= 1
        self.intermediate_pool: Counter[int] = +pool
        self.num_intermediate = sum(self.intermediate_pool.values())
        self.num_blocks = self.num_intermediate + len(OUTPUT_LEVELS)
        self.kind_sizes: dict[str, int] = {"level": len(LEVELS), "parent": self.num_stem + self.num_blocks - 1}
        if block_adjustments:
            self.kind_sizes.update(shift=len(SHIFTS), block_fn=len(BLOCK_FNS))
        self.decisions: tuple[Decision, ...] = tuple(self._make_decisions())

    def __repr__(self) -> str:
        return (
            f"SearchSpace({self.name!r}, block_adjustments={self.block_adjustments}, "
            f"parent_window={self.parent_window}, decisions={len(self.decisions)})"
        )

    # -- structure ------------------------------------------------------------------------------

    def _make_decisions(self) -> list[Decision]:
        out = []
        for i in range(self.num_blocks):
            kinds = ["level"]
            if self.block_adjustments and self.is_intermediate(i):
                kinds.append("shift")
            if self.block_adjustments:
                kinds.append("block_fn")
            kinds += ["parent", "parent"]
            for k, kind in enumerate(kinds):
                suffix = f"{kind}{k - len(kinds) + 2}" if kind == "parent" else kind
                out.append(Decision(kind, self.kind_sizes[kind], i, f"block{i}.{suffix}"))
        return out

    def is_intermediate(self, block: int) -> bool:
        """Whether block `block` is an intermediate (not an output) block."""
        return block < self.num_intermediate

    def parent_range(self, block: int) -> tuple[int, int]:
        """Inclusive range of node offsets block `block` may take parents from."""
        hi = self.num_stem + block - 1
        lo = 0
        if self.parent_window is not None and self.is_intermediate(block):
            lo = max(0, hi + 1 - self.parent_window)
        return lo, hi

    # -- masks ----------------------------------------------------------------------------------

    def walk(self) -> "DecisionWalk":
        """A cursor that yields masks and takes actions one decision at a time (O(1) per step)."""
        return DecisionWalk(self)

    def mask(self, prefix: Sequence[int]) -> np.ndarray:
        """Boolean validity mask of decision `len(prefix)` given the earlier actions `prefix`."""
        state = self.walk()
        for a in prefix:
            state.step(a)
        return state.mask()

    def decode(self, actions: Sequence[int], name: str | None = None) -> Architecture:
        """The architecture chosen by a full action sequence; invalid actions raise `SpecError`."""
        if len(actions) != len(self.decisions):
            raise SpecError(f"space {self.name}: expected {len(self.decisions)} actions, got {len(actions)}")
        walk = DecisionWalk(self)
        for a in actions:
            walk.step(int(a))
        arch = Architecture(name or "tmp", tuple(walk.blocks), self.stem)
        return arch if name else arch.with_name(f"{self.name}-{arch.id[:8]}")

    def encode(self, arch: Architecture) -> list[int]:
        """The action sequence that decodes to `arch`; raises `SpecError` if `arch` is outside."""
        where = f"architecture {arch.name!r} in space {self.name}"
        if arch.decoder != "spine":
            raise SpecError(f"{where}: only scale-permuted ('spine') architectures are in a search space")
        if arch.stem != self.stem:
            raise SpecError(f"{where}: stem {_stem_str(arch.stem)} differs from the space's {_stem_str(self.stem)}")
        if len(arch.blocks) != self.num_blocks:
            raise SpecError(f"{where}: has {len(arch.blocks)} blocks, the space has {self.num_blocks}")
        for i, b in enumerate(arch.blocks):
            if b.is_output == self.is_intermediate(i):
                role = "intermediate" if self.is_intermediate(i) else "output"
                raise SpecError(f"{where}, block {i}: must be an {role} block (outputs are the last 5)")
            if not self.block_adjustments and b.block_fn != "bottleneck":
                raise SpecError(f"{where}, block {i}: {b.block_fn} block needs block_adjustments=true")
        bases = self._base_levels([b.level for b in arch.blocks[: self.num_intermediate]], where)
        actions: list[int] = []
        for i, b in enumerate(arch.blocks):
            base = bases[i] if self.is_intermediate(i) else b.level
            actions.append(LEVELS.index(base))
            if self.block_adjustments and self.is_intermediate(i):
                actions.append(SHIFTS.index(b.level - base))
            if self.block_adjustments:
                actions.append(BLOCK_FNS.index(b.block_fn))
            lo, hi = self.parent_range(i)
            p0, p1 = sorted(b.parents)
            if p0 < lo:
                raise SpecError(f"{where}, block {i}: parent {p0} is outside the last {self.parent_window} nodes built")
            actions += [p0, p1]
        walk = DecisionWalk(self)  # confirms every action against the masks
        for a in actions:
            walk.step(a)
        return actions

    def _base_levels(self, levels: list[int], where: str) -> list[int]:
        """Assign pool base levels to intermediate blocks so that every shift is allowed."""
        pool = sorted(self.intermediate_pool.elements())
        order = sorted(range(len(levels)), key=lambda k: levels[k])
        bases = [0] * len(levels)
        for k, base in zip(order, pool):  # sorted matching finds one whenever one exists
            allowed = SHIFTS if self.block_adjustments else (0,)
            if levels[k] - base not in allowed:
                want = dict(sorted(self.intermediate_pool.items()))
                have = dict(sorted(Counter(levels).items()))
                raise SpecError(
                    f"{where}: intermediate levels {have} cannot come from the pool {want}"
                    + (" with shifts -1..+2" if self.block_adjustments else " (no block adjustments)")
                )
            bases[k] = base
        return bases

    # -- sampling and size -----------------------------------------------------------------------

    def sample_actions(self, rng: np.random.Generator | int | None = None) -> list[int]:
        """A uniformly random valid choice at every decision."""
        rng = np.random.default_rng(rng)
        walk = DecisionWalk(self)
        actions = []
        for _ in self.decisions:
            a = int(rng.choice(np.flatnonzero(walk.mask())))
            walk.step(a)
            actions.append(a)
        return actions

    def sample(self, rng: np.random.Generator | int | None = None) -> Architecture:
        """A random architecture of this space."""
        return self.decode(self.sample_actions(rng))

    def coarsest(self) -> Architecture:
        """A deliberately poor member of the space: all computation as coarse as the space allows.

        Intermediate blocks are placed coarsest first and shifted up as far as allowed (L7 where
        reachable), bottleneck blocks, each fed by the two nodes built just before it; outputs
        follow in level order (L3 first), also fed by the two most recent nodes. A proxy that
        ranks architectures should put it at or near the bottom (`spinenas fidelity` includes it).
        """
        walk = DecisionWalk(self)
        for d in self.decisions:
            valid = np.flatnonzero(walk.mask())
            if d.kind == "level":
                action = valid[-1] if self.is_intermediate(d.block) else valid[0]
            elif d.kind == "block_fn":
                action = BLOCK_FNS.index("bottleneck")
            else:  # shift: the largest; parents: the most recent allowed
                action = valid[-1]
            walk.step(int(action))
        return Architecture(f"{self.name}-coarsest", tuple(walk.blocks), self.stem)

    def log10_size(self) -> float:
        """log10 of the number of distinct valid action sequences (what the controller searches).

        Blocks of the same level are interchangeable here, so orderings count as a multinomial,
        not as the paper's (N-5)! 5!; see `paper_log10_size` for the paper's formula.
        """
        inter = self.intermediate_pool
        total = math.lgamma(self.num_intermediate + 1) - sum(math.lgamma(n + 1) for n in inter.values())
        total += math.lgamma(len(OUTPUT_LEVELS) + 1)
        if self.block_adjustments:
            total += sum(n * math.log(_num_shifts(lv)) for lv, n in inter.items())
            total += self.num_blocks * math.log(len(BLOCK_FNS))
        for i in range(self.num_blocks):
            lo, hi = self.parent_range(i)
            total += math.log(math.comb(hi - lo + 1, 2))
        return total / math.log(10)

    def paper_log10_size(self) -> float:
        """log10 of the paper's count: (N-5)! 5! prod_{i=m}^{N+m-1} C(i,2) [x 4^(N-5) 2^N]."""
        n, m = self.num_blocks, self.num_stem
        total = math.lgamma(n - 5 + 1) + math.lgamma(6)
        total += sum(math.log(math.comb(i, 2)) for i in range(m, n + m))
        if self.block_adjustments:
            total += (n - 5) * math.log(4) + n * math.log(2)
        return total / math.log(10)


def _num_shifts(level: int) -> int:
    return sum(MIN_LEVEL <= level + s <= MAX_LEVEL for s in SHIFTS)


def _stem_str(stem: Sequence[StemGroup]) -> str:
    return "[" + ", ".join(f"L{g.level}x{g.repeats}" for g in stem) + "]"


class DecisionWalk:
    """Replays actions through the decision sequence, tracking pools and the blocks built."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.t = 0
        self.inter = Counter(space.intermediate_pool)
        self.outputs = set(OUTPUT_LEVELS)
        self.blocks: list[BlockSpec] = []
        self.level = 0
        self.block_fn = "bottleneck"
        self.parents: list[int] = []

    def mask(self) -> np.ndarray:
        sp = self.space
        if self.t >= len(sp.decisions):
            raise SpecError(f"space {sp.name}: all {len(sp.decisions)} decisions are already made")
        d = sp.decisions[self.t]
        m = np.zeros(d.size, dtype=bool)
        if d.kind == "level":
            avail = [lv for lv in LEVELS if self.inter[lv] > 0] if sp.is_intermediate(d.block) else self.outputs
            m[[LEVELS.index(lv) for lv in avail]] = True
        elif d.kind == "shift":
            m[[k for k, s in enumerate(SHIFTS) if MIN_LEVEL <= self.level + s <= MAX_LEVEL]] = True
        elif d.kind == "block_fn":
            m[:] = True
        else:
            lo, hi = sp.parent_range(d.block)
            if not self.parents:
                m[lo:hi] = True  # leave room for a larger second parent
            else:
                m[self.parents[0] + 1 : hi + 1] = True
        return m

    def step(self, action: int) -> None:
        sp = self.space
        m = self.mask()
        d = sp.decisions[self.t]
        if not 0 <= action < d.size or not m[action]:
            valid = np.flatnonzero(m).tolist()
            raise SpecError(f"space {sp.name}: action {action} is not valid for {d.name} (valid: {valid})")
        if d.kind == "level":
            self.level = LEVELS[action]
            if sp.is_intermediate(d.block):
                self.inter[self.level] -= 1
            else:
                self.outputs.discard(self.level)
        elif d.kind == "shift":
            self.level += SHIFTS[action]
        elif d.kind == "block_fn":
            self.block_fn = BLOCK_FNS[action]
        else:
            self.parents.append(action)
            if len(self.parents) == 2:
                is_out = not sp.is_intermediate(d.block)
                self.blocks.append(BlockSpec(self.level, self.block_fn, (self.parents[0], self.parents[1]), is_out))
                self.level, self.block_fn, self.parents = 0, "bottleneck", []
        self.t += 1


_SPACES: Registry[SpaceDefinition] = Registry("search space")
for _name, _definition in DEFINITIONS.items():
    _SPACES.register_value(_name, _definition)


def get_space(name: str, block_adjustments: bool = False, parent_window: int | None = 5) -> SearchSpace:
    """A search space by name (r35_sp18, r23_sp30, r14_sp39, r0_sp53).

    Args:
        name: the space; unknown names raise `KeyError` listing the valid ones.
        block_adjustments: also search a level shift per intermediate block and a type per block.
        parent_window: intermediate blocks take parents only from the last K nodes built (None: all).
    """
    return SearchSpace(_SPACES.get(name), block_adjustments, parent_window)


def list_spaces() -> list[str]:
    """Names of the search spaces."""
    return _SPACES.names()
