"""The dedup's MinHash banding is chosen from recall and false-positive targets, and datatrove's own signatures
(the curation's config and tokenizer) behave as the curve says on generated pairs of known Jaccard."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from mlplat.corpus.pipeline import minhash_config
from mlruntime.corpus.config import DomainConfig, choose_bands, lsh_probability
from mlruntime.errors import InputError
from tests.helpers import ROOT


def _bench():
    spec = importlib.util.spec_from_file_location("near_duplicates", ROOT / "bench" / "near_duplicates.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("near_duplicates", module)
    spec.loader.exec_module(module)
    return module


def test_the_default_banding_meets_the_targets_with_the_fewest_hashes():
    domain = DomainConfig(outlets=("example.com",), keywords=())
    b, r = domain.lsh_bands()
    assert lsh_probability(0.85, b, r) >= 0.99 and lsh_probability(0.6, b, r) <= 0.01
    assert (minhash_config(domain).num_buckets, minhash_config(domain).hashes_per_bucket) == (b, r)
    # No banding with fewer hashes meets both targets.
    for rows in range(1, 41):
        for bands in range(1, (b * r - 1) // rows + 1):
            assert not (lsh_probability(0.85, bands, rows) >= 0.99 and lsh_probability(0.6, bands, rows) <= 0.01)
    # The banding used before (10 x 11) and datatrove's default (14 x 8) miss one of them.
    assert lsh_probability(0.85, 10, 11) < 0.99 and lsh_probability(0.6, 14, 8) > 0.01
    curve = domain.lsh_curve()
    assert curve["recallAt0.85"] >= 0.99 and curve["falsePositiveAt0.5"] <= 0.001


def test_an_unreachable_target_is_refused():
    with pytest.raises(InputError, match="no MinHash banding"):
        choose_bands(0.51, 0.999, 0.5, 0.001)


def test_datatrove_signatures_find_the_pairs_the_curve_promises():
    bench = _bench()
    result = bench.measure(bench.pairs(300, seed=3), *DomainConfig(outlets=("e.com",), keywords=()).lsh_bands())
    assert result["n 0.85-0.90"] + result["n 0.90-0.95"] >= 40
    assert result["recall 0.85-0.90"] == 1.0 and result["recall 0.90-0.95"] == 1.0
    # Below the threshold the signatures merge pairs as often as the curve says (within two pairs of its mean).
    n = result["n 0.55-0.65"]
    assert n >= 40 and result["curve false positives 0.55-0.65"] < 0.03
    assert abs(result["false positives 0.55-0.65"] - result["curve false positives 0.55-0.65"]) * n <= 2
