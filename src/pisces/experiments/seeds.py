"""Seeds of every benchmark: the seed-spec syntax and the random streams derived from a run seed.

Every random draw of a run comes from a generator derived from its seed with
:class:`numpy.random.SeedSequence`, one stream a purpose, so that (for example) the
evaluation interval never shifts a training draw:

* :class:`SeedStreams`: three 63-bit seeds (initialisation, training, evaluation), and an
  evaluation seed per epoch (the jumping task's trainer);
* :func:`spawn_generators`: ``n`` independent :class:`numpy.random.Generator` children (the
  LQR seed data: environments, test environments, initialisation, pairs, control).

Both derivations are fixed forever: committed results were drawn with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_MASK63 = 0x7FFF_FFFF_FFFF_FFFF


def parse_seeds(spec: str) -> list[int]:
    """Parse ``"1-100"``, ``"3"``, ``"1,3,5"`` or ``"1-3,7"`` into sorted distinct seeds >= 0.

    Raises:
        ValueError: naming the offending item, for an empty spec or item, a non-integer, a
            reversed range or a negative seed.
    """
    if not spec or not spec.strip():
        raise ValueError("empty seeds spec; use e.g. 1-100 or 1,3,5")
    seeds: set[int] = set()
    for item in spec.split(","):
        item = item.strip()
        lo_text, dash, hi_text = item.partition("-")
        try:
            lo = int(lo_text)
            hi = int(hi_text) if dash else lo
        except ValueError:
            raise ValueError(
                f"bad seeds spec {spec!r} at {item!r}: use e.g. 1-100 or 1,3,5 (seeds >= 0)"
            ) from None
        if hi < lo:
            raise ValueError(f"bad seeds spec {spec!r}: range {item!r} is reversed")
        seeds.update(range(lo, hi + 1))
    return sorted(seeds)


def derive_seeds(entropy: int | list[int], n: int) -> list[int]:
    """``n`` 63-bit seeds from ``SeedSequence(entropy).generate_state(n)``."""
    state = np.random.SeedSequence(entropy).generate_state(n, dtype=np.uint64)
    return [int(v) & _MASK63 for v in state]


@dataclass(frozen=True)
class SeedStreams:
    """Seeds of the three random streams of one run, derived from the run seed."""

    init: int
    train: int
    eval: int

    @classmethod
    def from_seed(cls, seed: int) -> SeedStreams:
        return cls(*derive_seeds(int(seed), 3))

    def eval_seed(self, epoch: int) -> int:
        """The evaluation seed at ``epoch``: an evaluation never depends on the schedule."""
        return derive_seeds([self.eval, int(epoch)], 1)[0]


def spawn_generators(seed: int, n: int) -> list[np.random.Generator]:
    """``n`` independent generators, the children ``SeedSequence(seed).spawn(n)``."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]
