#!/usr/bin/env python3
"""scripts/nas_study.py's statistics and n-gram reference against independent references:
SciPy's values in fixtures/nas_stats.json (scripts/make_nas_stats_fixture.py), hand-computed
Kneser-Ney probabilities, distributions that must sum to one, and shards built here byte by
byte from docs/DATA.md's layout. Standard library only, as the study itself."""
import importlib.util
import json
import math
import os
import struct
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "nas_study", os.path.join(HERE, "..", "..", "scripts", "nas_study.py"))
nas = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nas)


class AgainstScipy(unittest.TestCase):
    cases = json.load(open(os.path.join(HERE, "fixtures", "nas_stats.json")))["cases"]

    def test_spearman_and_kendall_tau_b(self):
        for c in self.cases:
            with self.subTest(c["name"]):
                self.assertAlmostEqual(nas.spearman(c["x"], c["y"]), c["spearman"], places=12)
                self.assertAlmostEqual(nas.kendall(c["x"], c["y"]), c["kendall_b"], places=12)

    def test_exact_permutation_p(self):
        for c in self.cases:
            if "spearman_p_greater_exact" in c:
                with self.subTest(c["name"]):
                    self.assertAlmostEqual(nas.permutation_p(c["x"], c["y"], nas.spearman),
                                           c["spearman_p_greater_exact"], places=12)

    def test_fisher_intervals(self):
        # the script's 1.96 against SciPy's norm.ppf(0.975) = 1.95996...: equal to 1e-3
        for c in self.cases:
            n = len(c["x"])
            for ours, ref in ((nas.fisher_interval(c["spearman"], n, 1.06, 3),
                               c["spearman_fisher95"]),
                              (nas.fisher_interval(c["kendall_b"], n, 0.437, 4),
                               c["kendall_fisher95"])):
                with self.subTest(c["name"]):
                    if ref is None:
                        self.assertIsNone(ours)
                    else:
                        self.assertAlmostEqual(ours[0], ref[0], delta=1e-3)
                        self.assertAlmostEqual(ours[1], ref[1], delta=1e-3)

    def test_monte_carlo_p_at_the_extremes(self):
        xs = list(range(9))  # n = 9: the Monte Carlo branch, (hits + 1) / (shuffles + 1)
        self.assertEqual(nas.permutation_p(xs, xs[::-1], nas.spearman), 1.0)
        self.assertLess(nas.permutation_p(xs, xs, nas.spearman), 1e-3)


class Bootstrap(unittest.TestCase):
    def test_a_monotone_relation_stays_perfect(self):
        xs = [0.5 * i * i for i in range(8)]
        self.assertEqual(nas.bootstrap_interval(xs, [3 * x + 1 for x in xs], nas.spearman),
                         (1.0, 1.0))

    def test_a_rare_value_gives_no_interval(self):
        # one value of eight differs: (7/8)^8 = 34% of resamples lack it and have no correlation
        widths = [128] * 7 + [64]
        losses = [4.48, 4.55, 4.53, 4.54, 4.58, 4.57, 4.62, 4.65]
        self.assertIsNone(nas.bootstrap_interval(widths, [-l for l in losses], nas.spearman))
        self.assertIsNotNone(nas.bootstrap_interval(list(range(8)), losses, nas.spearman))


class NoiseCeiling(unittest.TestCase):
    def test_no_noise_ranks_perfectly(self):
        rows = [{"val_loss": 4.4 + 0.01 * i, "losses": {1: 0.0}} for i in range(6)]
        self.assertEqual(nas.noise_ceiling(rows, [0.0])["perfect_proxy_spearman_median"], 1.0)

    def test_bivariate_normal_closed_form(self):
        # true means ~ N(0, t^2), noise N(0, s^2): Pearson r = t / sqrt(t^2 + s^2) and, for a
        # bivariate normal, Spearman = (6 / pi) asin(r / 2) (Pearson 1907)
        rng = __import__("random").Random(3)
        s = 0.04
        rows = [{"val_loss": rng.gauss(4.5, 0.05), "losses": {1: 0.0}} for _ in range(400)]
        c = nas.noise_ceiling(rows, [s * math.sqrt(2)], draws=60)
        self.assertAlmostEqual(c["seed_sd"], s, places=12)
        t = c["true_sd"]
        expected = 6 / math.pi * math.asin(t / math.sqrt(t * t + s * s) / 2)
        self.assertAlmostEqual(c["perfect_proxy_spearman_median"], expected, delta=0.03)

    def test_needs_a_pair(self):
        self.assertIsNone(nas.noise_ceiling([{"val_loss": 1.0, "losses": {1: 1.0}}] * 4, []))


class KneserNeyReference(unittest.TestCase):
    corpus = [0, 1, 0, 1, 2, 3, 1, 2, 0, 1, 4, 1, 2]
    vocab = 7  # tokens 5 and 6 never occur

    def setUp(self):
        self.m = nas.KneserNey(self.corpus, self.vocab)

    def test_hand_computed_bigram(self):
        m = nas.KneserNey([0, 1, 0, 1, 2], 4)
        # c(0,1) = 2, c(0 .) = 2 with 1 follower; 1 has 1 distinct left neighbour of 3 bigram
        # types, so p1(1) = (1 + 1) / (3 + 4)
        self.assertAlmostEqual(m.p1(1), 2 / 7, places=15)
        self.assertAlmostEqual(m.p2(0, 1), (2 - 0.75) / 2 + 0.75 * 1 / 2 * 2 / 7, places=15)
        self.assertAlmostEqual(m.p2(3, 1), 2 / 7, places=15)  # unseen context: backs off

    def test_every_distribution_sums_to_one(self):
        ws = range(self.vocab)
        self.assertAlmostEqual(sum(self.m.p_unigram_ml(w) for w in ws), 1, places=12)
        self.assertAlmostEqual(sum(self.m.p1(w) for w in ws), 1, places=12)
        for v in range(self.vocab):
            with self.subTest(v=v):
                self.assertAlmostEqual(sum(self.m.p2(v, w) for w in ws), 1, places=12)
        for u, v in ((0, 1), (1, 2), (3, 1), (1, 0), (6, 5), (2, 0)):
            with self.subTest(u=u, v=v):
                self.assertAlmostEqual(sum(self.m.p3(u, v, w) for w in ws), 1, places=12)

    def test_a_seen_trigram_beats_its_backoff(self):
        self.assertGreater(self.m.p3(0, 1, 2), self.m.p3(5, 6, 2))


def shard_bytes(tokens, version=1, magic=20240520):
    header = struct.pack("<3i", magic, version, len(tokens)) + bytes(1024 - 12)
    return header + struct.pack("<%d%s" % (len(tokens), "H" if version == 1 else "I"), *tokens)


class ShardReader(unittest.TestCase):
    def read(self, data):
        with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
            f.write(data)
        try:
            return nas.read_shard(f.name)
        finally:
            os.unlink(f.name)

    def test_both_versions(self):
        self.assertEqual(self.read(shard_bytes([5, 50256, 0])), [5, 50256, 0])
        self.assertEqual(self.read(shard_bytes([70000, 1], version=2)), [70000, 1])

    def test_refusals(self):
        for bad in (shard_bytes([1, 2], magic=1), shard_bytes([1, 2], version=3),
                    shard_bytes([1, 2])[:-1], b"short"):
            with self.assertRaises(SystemExit):
                self.read(bad)


if __name__ == "__main__":
    unittest.main(verbosity=1)
