#!/usr/bin/python3
"""Builds tests/search/fixtures/nas_stats.json: the rank statistics of a few fixed data sets as
SciPy computes them, the independent reference for scripts/nas_study.py's own (standard
library only, so the study runs without SciPy). tests/search/test_nas_study.py compares.

Per data set: Spearman's rho (scipy.stats.spearmanr), Kendall's tau-b (kendalltau, variant
"b"), for n <= 8 the exact one-sided permutation p-value of Spearman's rho (the share of all
orderings of y whose rho, from SciPy's rankdata and pearsonr, is at least the observed one),
and the 95 % Fisher intervals with Fieller, Hartley and Pearson's variances, 1.06 / (n - 3)
and 0.437 / (n - 4), at the normal quantile norm.ppf(0.975).
Ties appear in either variable and in both.

Run with Debian's python3-scipy:
  /usr/bin/python3 scripts/make_nas_stats_fixture.py [OUT_FILE]
Output is deterministic."""
import itertools
import json
import math
import sys

import numpy as np
from scipy import stats

DATA = [
    ("three, reversed", [41.6, 116.4, 332.2], [-4.4837, -4.5373, -4.6211]),
    ("five, increasing with noise", [1, 2, 3, 4, 5], [0.1, 0.3, 0.2, 0.5, 0.4]),
    ("six, ties in x", [1, 2, 2, 3, 4, 4], [2.0, 1.0, 3.0, 5.0, 4.0, 6.0]),
    ("seven, ties in both", [3, 1, 4, 1, 5, 9, 2], [2, 7, 1, 8, 2, 8, 1]),
    ("eight, negative", [8, 7, 6, 5, 4, 3, 2, 1], [1.5, 2.5, 2.0, 4.0, 3.0, 6.0, 5.5, 7.0]),
    ("twelve, weak", [float(x) for x in (5, 3, 9, 1, 12, 7, 2, 11, 4, 10, 6, 8)],
     [0.2, -0.1, 0.4, 0.0, 0.3, 0.5, -0.3, 0.1, 0.2, -0.2, 0.6, 0.25]),
]


def fisher(r, n, numerator, offset):
    if n - offset <= 0 or not -1 < r < 1:
        return None
    z, se = math.atanh(r), math.sqrt(numerator / (n - offset))
    q = stats.norm.ppf(0.975)
    return [math.tanh(z - q * se), math.tanh(z + q * se)]


def main(out):
    cases = []
    for name, x, y in DATA:
        rho = float(stats.spearmanr(x, y).statistic)
        tau = float(stats.kendalltau(x, y, variant="b").statistic)
        case = {"name": name, "x": x, "y": y, "spearman": rho, "kendall_b": tau,
                "spearman_fisher95": fisher(rho, len(x), 1.06, 3),
                "kendall_fisher95": fisher(tau, len(x), 0.437, 4)}
        if len(x) <= 8:
            # every pairing, ranked once; SciPy's rankdata and Pearson give the statistic
            rx, ry = stats.rankdata(x), stats.rankdata(y)
            perms = np.array(list(itertools.permutations(ry)))
            rs = np.array([stats.pearsonr(rx, p).statistic for p in perms])
            case["spearman_p_greater_exact"] = float(np.mean(rs >= rho - 1e-12))
        cases.append(case)
    with open(out, "w") as f:
        json.dump({"generator": "scripts/make_nas_stats_fixture.py",
                   "scipy": __import__("scipy").__version__, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/search/fixtures/nas_stats.json")
