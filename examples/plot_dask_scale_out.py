"""
==========================================================
Scaling out with Dask: searches and out-of-core training
==========================================================

skoptim estimators are plain scikit-learn estimators, so the Dask ecosystem
drives them without glue code (``pip install "skoptim[dask]"``):

- a ``GridSearchCV`` run under joblib's ``"dask"`` backend sends its
  cross-validation fits to the workers of a Dask cluster, and finds the same
  scores as the same search run in this process;
- :class:`dask_ml.wrappers.Incremental` trains an estimator on a chunked
  ``dask.array`` that is never loaded whole, one ``partial_fit`` call per
  block, in a task on a worker.

The cluster here is a ``LocalCluster`` whose two workers are threads of this
process, so the script runs as it is (also inside the documentation build).
With worker processes (``LocalCluster(processes=True)``, the default) or a
real cluster the code is the same, but a script that starts worker processes
must do so under ``if __name__ == "__main__":``.
"""

# %%
# Is Dask installed?
# ------------------
import sys
import time
import warnings

import numpy as np

MISSING = ('This example needs the optional "dask" extra '
           '(dask, distributed and dask-ml): pip install "skoptim[dask]"')
try:
    import dask
    import dask.array as da
    import dask_ml
    import distributed
    from dask_ml.wrappers import Incremental
except ImportError as exc:
    if "sphinx_gallery" in sys.modules:  # a docs build must not end silently
        raise ImportError(MISSING) from exc
    print(f"{MISSING}\n(import failed: {exc})")
    sys.exit(0)

import joblib
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skoptim import MLPClassifierPlus, SGDClassifierPlus
from skoptim.optim import Adam

warnings.simplefilter("ignore", ConvergenceWarning)
print(f"dask {dask.__version__}, distributed {distributed.__version__}, "
      f"dask-ml {dask_ml.__version__}")

cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                   dashboard_address=None)
client = distributed.Client(cluster)
print(f"cluster: {len(client.scheduler_info()['workers'])} workers")

# %%
# A grid search on the cluster
# ----------------------------
# The estimator, its nested optimizer parameter (``solver__beta_1``) and the
# schedule names are tuned exactly as without Dask; only the joblib backend
# changes. ``get_task_stream`` records which worker ran each task.
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0)
pipe = make_pipeline(
    StandardScaler(),
    MLPClassifierPlus(hidden_layer_sizes=(32,), solver=Adam(), batch_size=128,
                      max_iter=15, learning_rate_init=0.02, random_state=0),
)
param_grid = {
    "mlpclassifierplus__solver__beta_1": [0.8, 0.95],
    "mlpclassifierplus__learning_rate": ["constant", "cosine"],
}

search = GridSearchCV(pipe, param_grid, cv=3, n_jobs=-1)
start = time.perf_counter()
with distributed.get_task_stream(client=client) as task_stream:
    with joblib.parallel_backend("dask"):
        search.fit(X_train, y_train)
dask_seconds = time.perf_counter() - start

local = GridSearchCV(pipe, param_grid, cv=3, n_jobs=1)
start = time.perf_counter()
local.fit(X_train, y_train)
local_seconds = time.perf_counter() - start

results = search.cv_results_
print(f"\n{'rank':>4} {'beta_1':>6} {'learning_rate':<13} {'mean CV acc':>11} "
      f"{'(n_jobs=1)':>10}")
for i in np.argsort(results["rank_test_score"], kind="stable"):
    params = results["params"][i]
    print(f"{results['rank_test_score'][i]:4d} "
          f"{params['mlpclassifierplus__solver__beta_1']:6.2f} "
          f"{params['mlpclassifierplus__learning_rate']:<13} "
          f"{results['mean_test_score'][i]:11.4f} "
          f"{local.cv_results_['mean_test_score'][i]:10.4f}")

tasks_per_worker = {}
for record in task_stream.data:
    tasks_per_worker[record["worker"]] = tasks_per_worker.get(record["worker"], 0) + 1
print(f"\n{len(task_stream.data)} tasks on the cluster ({dask_seconds:.1f} s; "
      f"{local_seconds:.1f} s with n_jobs=1):")
for worker, count in sorted(tasks_per_worker.items()):
    print(f"  {worker}: {count} tasks")
same = np.array_equal(results["mean_test_score"], local.cv_results_["mean_test_score"])
print(f"same scores as the local search: {same}; best_params_: {search.best_params_}")
print(f"test accuracy of the refitted best pipeline: {search.score(X_test, y_test):.4f}")

# %%
# Out-of-core training with ``Incremental``
# -----------------------------------------
# A lazily generated dask array of 200,000 rows in 20 blocks: the training
# blocks are never all in memory at once. ``Incremental.fit`` makes one
# pass, one ``partial_fit`` task per block (``classes=`` is required for
# classifiers, as with ``partial_fit``); ``Incremental.partial_fit`` makes
# the next passes, starting from the fitted model. ``score`` and ``predict``
# take dask arrays too and stay lazy until computed.
n_samples, n_features, block = 200_000, 20, 10_000
rng = da.random.default_rng(0)
X_big = rng.standard_normal((n_samples, n_features), chunks=(block, n_features))
w = np.linspace(-1.0, 1.0, n_features)
noise = rng.standard_normal(n_samples, chunks=block)
signal = X_big.map_blocks(np.matmul, w, drop_axis=1)  # X_big @ w, block by block
y_big = (signal + 0.5 * noise > 0).astype(np.int64)
X_tr, X_te = X_big[:180_000], X_big[180_000:]
y_tr, y_te = y_big[:180_000], y_big[180_000:]
# The training blocks are recomputed (here: regenerated; in practice read from
# disk) on every pass; the small held-out set stays in the workers' memory.
X_te, y_te = client.persist([X_te, y_te])
print(f"\nX: {X_big.shape} in {X_big.numblocks[0]} blocks of {block} rows "
      f"({X_big.nbytes / 2**20:.0f} MiB in all)")

model = Incremental(
    SGDClassifierPlus(loss="log_loss", solver=Adam(), learning_rate="constant",
                      eta0=0.001, random_state=0),
    scoring="accuracy", shuffle_blocks=True, random_state=0)
print(f"\n{'pass':>4} {'blocks seen':>11} {'test accuracy':>13} {'seconds':>7}")
for n_pass in range(1, 4):
    start = time.perf_counter()
    if n_pass == 1:
        model.fit(X_tr, y_tr, classes=[0, 1])
    else:
        model.partial_fit(X_tr, y_tr, classes=[0, 1])
    accuracy = model.score(X_te, y_te)
    print(f"{n_pass:4d} {n_pass * X_tr.numblocks[0]:11d} {accuracy:13.4f} "
          f"{time.perf_counter() - start:7.2f}")

predictions = model.predict(X_te)  # lazy: one predict task per block
print(f"predict returns a dask array in {predictions.numblocks[0]} blocks; "
      f"computed: {predictions.compute()[:10]} ...")
print(f"fitted coef_[0, :4]: {np.round(model.estimator_.coef_[0, :4], 3)} "
      f"(labels follow the direction {np.round(w[:4], 3)} ...)")

client.close()
cluster.close()
