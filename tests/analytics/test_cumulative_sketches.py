"""analytics.day_build.cumulative: each group's running sketch over its lineage (the hours
of a local day, or of one value in a day) equals a direct sum over the earlier groups."""
import numpy as np

from analytics.day_build import cumulative


def _direct(items, lineage, n):
    out = {}
    for group in range(n):
        for (g, key), count in items.items():
            if lineage[g] == lineage[group] and g <= group:
                out[(group, key)] = out.get((group, key), 0) + count
    return out


def test_running_sketches_equal_direct_sums():
    rng = np.random.default_rng(1)
    for trial in range(300):
        n = int(rng.integers(1, 30))
        lineage = rng.integers(0, 4, n)
        if trial % 2:
            lineage = np.sort(lineage)  # hour totals: a day's hours are contiguous; slices interleave values
        _, lineage = np.unique(lineage, return_inverse=True)
        items = {}
        for g, k, c in zip(rng.integers(0, n, 60), rng.integers(-5, 8, 60), rng.integers(1, 5, 60)):
            if rng.random() < trial / 300:
                items[(int(g), int(k))] = items.get((int(g), int(k)), 0) + int(c)
        ordered = sorted(items.items())
        pairs = tuple(np.array(column, dtype=np.int64) for column in (
            [g for (g, _), _ in ordered], [k for (_, k), _ in ordered], [c for _, c in ordered]))
        group, key, count = cumulative(pairs, lineage, n)
        assert {(g, k): c for g, k, c in zip(group.tolist(), key.tolist(), count.tolist())} == \
            _direct(items, lineage, n)
        assert list(zip(group.tolist(), key.tolist())) == sorted(zip(group.tolist(), key.tolist()))
