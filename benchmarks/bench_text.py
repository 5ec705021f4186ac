"""Wide sparse data (text: hashed word counts) -- SGDClassifierPlus against
scikit-learn's SGDClassifier, the classic use of SGD on sparse data.

The data stand in for ``HashingVectorizer`` output: each row holds a Poisson
number of tokens (mean ``--tokens``) drawn from a Zipf-like vocabulary of
``--vocabulary`` words (frequency of rank r proportional to 1 / (r + 2.7)),
each word hashed to one of ``2**bits`` features (at random, with a fixed
seed); the counts are TF-IDF weighted (smoothed IDF from the training rows)
and each row normalised to unit length, as ``TfidfTransformer`` does. The
label is ``1[x @ w + noise > 0]``, ``w`` Gaussian on the 2,000 most frequent
words (a fifth of them zero), the noise a sixth of the score's spread.
Sizes (``--sizes``, rows:bits): 10,000 rows on 2^18 features and 100,000 on
2^20 (``--quick``: 5,000 on 2^16).

For each size, both estimators with their defaults (``random_state=0``;
their own stopping rules) and with ``max_iter=5, tol=None`` (the same
epochs), after one warm-up fit each; fit time the best of ``--repeat``
(fits taking turns), epochs run, test accuracy on held-out rows (a fifth of
the training size, at least 2,000), and the time ratio scikit-learn /
skoptim (above 1: skoptim faster). ``--save`` writes
``benchmarks/results/bench_text.txt``.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import sys
import time
import warnings
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    Report,
    add_save_argument,
    format_table,
    report_header,
    save_results,
)
from benchmarks.bench_exact import _best_times  # noqa: E402


def make_text(n_rows, bits, *, n_test, vocabulary=100_000, tokens=60, seed=0):
    """``(X, y, X_test, y_test)``: TF-IDF rows of hashed Zipf tokens (CSR)."""
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    d = 1 << bits
    freq = 1.0 / (np.arange(vocabulary) + 2.7)
    freq /= freq.sum()
    feature_of_word = rng.integers(0, d, size=vocabulary)
    # The 2,000 most frequent words carry the signal (learnable from a few
    # thousand rows), a fifth of them with no weight.
    word_weight = rng.standard_normal(vocabulary) * (rng.random(vocabulary) < 0.8)
    word_weight[2_000:] = 0.0

    def counts(n):
        lengths = rng.poisson(tokens, size=n)
        words = rng.choice(vocabulary, size=int(lengths.sum()), p=freq)
        row_of = np.repeat(np.arange(n), lengths)
        X = sp.csr_matrix((np.ones(words.size), (row_of, feature_of_word[words])),
                          shape=(n, d))
        X.sum_duplicates()
        score = np.bincount(row_of, weights=word_weight[words], minlength=n)
        return X, score / np.maximum(lengths, 1)

    X, score = counts(n_rows)
    X_test, score_test = counts(n_test)
    df = np.bincount(X.indices, minlength=d)
    idf = np.log((1.0 + n_rows) / (1.0 + df)) + 1.0
    out = []
    for A in (X, X_test):
        A = A @ sp.diags(idf)
        norms = np.sqrt(np.asarray(A.multiply(A).sum(axis=1)).ravel())
        out.append(sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ A))
    noise = 0.16 * np.std(score)
    y = (score + noise * rng.standard_normal(n_rows) > 0).astype(int)
    y_test = (score_test + noise * rng.standard_normal(n_test) > 0).astype(int)
    return out[0], y, out[1], y_test


def run(args, report):
    from sklearn.linear_model import SGDClassifier

    from skoptim import SGDClassifierPlus

    rows = []
    for size in args.sizes:
        n, bits = size
        n_test = max(2_000, n // 5)
        start = time.perf_counter()
        X, y, X_test, y_test = make_text(n, bits, n_test=n_test, tokens=args.tokens)
        report(f"{n:,} rows x 2^{bits} features, {X.nnz / n:.0f} stored values a row, "
               f"{y.mean():.0%} positive (generated in {time.perf_counter() - start:.1f} s)")
        for label, params in (("defaults", {}),
                              (f"max_iter={args.epochs}, tol=None",
                               {"max_iter": args.epochs, "tol": None})):
            theirs = SGDClassifier(random_state=0, **params)
            ours = SGDClassifierPlus(random_state=0, **params)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs.fit(X, y)  # warm-ups (numba's cache load for skoptim)
                ours.fit(X, y)
                (t_theirs, t_ours), _ = _best_times(
                    [lambda: theirs.fit(X, y), lambda: ours.fit(X, y)], args.repeat)
            rows.append([f"{n:,} x 2^{bits}", label,
                         f"{t_theirs:.3f} s, {theirs.n_iter_} ep., "
                         f"acc {theirs.score(X_test, y_test):.4f}",
                         f"{t_ours:.3f} s, {ours.n_iter_} ep., "
                         f"acc {ours.score(X_test, y_test):.4f}",
                         f"{t_theirs / t_ours:.2f}x"])
            report(" | ".join(rows[-1]))
    report()
    report(format_table(["data", "parameters", "sklearn SGDClassifier",
                         "SGDClassifierPlus", "sklearn time / Plus time"], rows,
                        align="lllll"))
    return rows


def _size(text):
    n, bits = text.split(":")
    return int(n), int(bits)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=lambda s: [_size(t) for t in s.split(",")],
                   default=None, help="rows:bits, comma-separated "
                   "(default 10000:18,100000:20)")
    p.add_argument("--quick", action="store_true", help="5,000 rows on 2^16 features")
    p.add_argument("--tokens", type=int, default=60, help="mean tokens a row")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--output", type=str, default=None)
    add_save_argument(p)
    args = p.parse_args(argv)
    if args.sizes is None:
        args.sizes = [(5_000, 16)] if args.quick else [(10_000, 18), (100_000, 20)]
    report = Report()
    report_header(report, "# Wide sparse data (text): SGDClassifierPlus vs SGDClassifier",
                  "bench_text.py", argv, extra_modules=("numba",))
    report(f"## Fit times (best of {args.repeat} after a warm-up fit each)")
    report()
    run(args, report)
    name = args.output or ("bench_text_quick.txt" if args.quick else "bench_text.txt")
    save_results(args, name, report.text())


if __name__ == "__main__":
    main()
