"""The data side of training: row gathering, the validation split, and the
order, weights and rows of each epoch's mini-batches."""

# SPDX-License-Identifier: BSD-3-Clause

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from skoptim._backend import is_sparse, to_numpy
from skoptim._kernels import cpu_passes, csr_arrays
from skoptim._random import RowNoise, device_row_keys, row_keys


def take(a, idx, xp=None):
    """Rows ``idx`` of ``a`` (an index array, or a slice for unshuffled data);
    ``xp`` is ``a``'s namespace when the caller knows it."""
    if a is None:
        return None
    if isinstance(idx, slice) or is_sparse(a) or isinstance(a, np.ndarray):
        return a[idx]
    if xp is None:
        from array_api_compat import array_namespace

        xp = array_namespace(a)
    return xp.take(a, idx, axis=0)


class _Gather:
    """Rows of one training array per batch, into a reused buffer for NumPy."""

    def __init__(self, a, xp):
        self.a, self.xp = a, xp
        self.buf = None
        # The compiled row copy for this array, decided once (not per batch):
        # SciPy CSR (with its index arrays as the passes take them) or a 2-D
        # NumPy float array; else None.
        self.passes = self.csr = None
        if sp.issparse(a) and a.format == "csr":
            self.passes = cpu_passes(a.data)
            self.csr = csr_arrays(a)
        elif isinstance(a, np.ndarray) and a.ndim == 2:
            self.passes = cpu_passes(a)

    def __call__(self, idx):
        a, passes = self.a, self.passes
        if self.csr is not None and passes is not None and isinstance(idx, np.ndarray):
            # X[idx] without scipy's indexing overhead
            data, indices, indptr = passes.csr_rows(*self.csr, idx)
            return sp.csr_matrix((data, indices.view(a.indices.dtype),
                                  indptr.view(a.indptr.dtype)),
                                 shape=(idx.shape[0], a.shape[1]), copy=False)
        if a is None or isinstance(idx, slice) or not isinstance(a, np.ndarray):
            return take(a, idx, self.xp)
        k = idx.shape[0]
        if self.buf is None or self.buf.shape[0] < k:
            self.buf = np.empty((k,) + a.shape[1:], dtype=a.dtype)
        out = self.buf[:k]
        if passes is not None and idx.flags.c_contiguous:
            # A compiled copy of the rows (unsigned: the indices are valid).
            passes.take_rows(a, idx.view(f"u{idx.dtype.itemsize}"), out)
            return out
        # mode="clip" (the indices are valid): NumPy buffers ``out`` for the
        # default mode="raise", an extra copy of the batch.
        return np.take(a, idx, axis=0, out=out, mode="clip")


def row_groups(X, y):
    """Groups of identical ``(X, y)`` rows, in canonical (key) order: ``(y as
    float64 columns, first row of each group, group of each row, rows by
    group)``; the last holds the rows grouped, groups in key order, the rows
    of a group in their order.

    Keys are the rows' hashes (:func:`skoptim._random.row_keys`) and the bits
    of ``y``, as signed int64, compared lexicographically. One unstable sort
    of the hashes where they are all distinct (no two rows of X alike: the
    usual case), a stable sort of all the keys otherwise."""
    n = X.shape[0]
    y_np = np.asarray(to_numpy(y), dtype=np.float64).reshape(n, -1)
    hashes = to_numpy(row_keys(X)).view(np.int64)
    targets = y_np.view(np.int64)
    order = np.argsort(hashes)
    ordered = hashes[order]
    new = np.empty(n, dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    if not new.all():
        # Equal rows of X: order by hash, then by y, then by row (stable).
        order = np.lexsort((*targets.T[::-1], hashes))
        ordered = np.column_stack([hashes[order], targets[order]])
        np.any(ordered[1:] != ordered[:-1], axis=1, out=new[1:])
    starts = np.flatnonzero(new)
    group = np.empty(n, dtype=np.intp)
    group[order] = np.cumsum(new) - 1
    return y_np, order[starts], group, order


def validation_split(X, y, sample_weight, *, fraction, stratify, random_state, xp,
                     min_val=1):
    """Hold out a validation fraction, keeping identical rows on one side.

    Rows are grouped by a hash of ``(X, y)``, so copies of a row never straddle
    train and validation, and a sample weight of ``k`` holds out exactly what
    ``k`` repeated rows would. Groups are ordered canonically (sorted keys) and
    shuffled with ``random_state``. ``ceil(fraction * n_groups)`` groups are
    held out (scikit-learn's ``ShuffleSplit`` count); a fraction that leaves no
    training or no validation group raises scikit-learn's error. With
    ``stratify`` each class gives ``round(fraction * n_class)`` groups (at most
    all but one), and at least one group is held out. At least ``min_val``
    groups are held out (scikit-learn's MLP needs two: its validation R² and
    stopping rule are undefined on one), more than ``fraction`` on small data,
    and data too small for that raises scikit-learn's error. Returns
    ``(train_idx, val_idx)`` (NumPy).
    """
    y_np, first, group, _ = row_groups(X, y)
    n_groups = first.shape[0]
    if n_groups < 2:
        raise ValueError(
            "Early stopping needs at least 2 distinct samples to hold out "
            f"validation_fraction={fraction}; got n_samples={n_groups} distinct."
        )
    n_val = math.ceil(fraction * n_groups)
    if 0 < n_val < min_val:
        if n_groups - min_val < 1:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the "
                f"size of your dataset ({n_groups} distinct samples, {min_val} needed "
                "for validation and at least one for training)."
            )
        n_val = min_val
    if n_val == 0 or n_val == n_groups:
        raise ValueError(
            f"Splitting {n_groups} samples into a train set and a validation set with "
            f"validation_fraction={fraction!r} led to an empty set "
            f"({n_groups - n_val} and {n_val} samples). Please either change "
            "validation_fraction, increase number of samples, or disable early_stopping."
        )
    rng = np.random.default_rng(random_state)
    if stratify:
        _, labels = np.unique(y_np[first], axis=0, return_inverse=True)
        labels = labels.ravel()
    else:
        labels = np.zeros(n_groups, dtype=np.intp)
    val_groups = []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        # Stratified: each class in proportion, never all of a class (a class
        # of one member stays in training: a graceful split where
        # scikit-learn's StratifiedShuffleSplit raises).
        k = (min(int(round(fraction * members.size)), members.size - 1) if stratify
             else n_val)
        val_groups.append(members[:k])
    val_groups = np.concatenate(val_groups)
    if val_groups.size < min_val:
        # Classes too small to give enough groups: hold out more anyway.
        rest = rng.permutation(np.setdiff1d(np.arange(n_groups), val_groups))
        val_groups = np.concatenate([val_groups, rest[:min_val - val_groups.size]])
    is_val = np.zeros(n_groups, dtype=bool)
    is_val[val_groups] = True
    val_rows = is_val[group]
    return np.flatnonzero(~val_rows), np.flatnonzero(val_rows)


class _GroupedOrder:
    """Batches cut by sample weight over a shuffled order of groups of
    identical ``(X, y)`` rows.

    The groups (rows hashed as in :func:`validation_split`, in canonical key
    order) are permuted each epoch and laid end to end, each row taking an
    interval as long as its weight; batch ``b`` holds the rows that overlap
    ``[cuts[b], cuts[b + 1])``, each with the overlapping weight. A row of
    weight ``k`` and ``k`` copies of it then fall into the same batches with the
    same total weight, so sample weights mean repeated rows exactly (what
    scikit-learn's ``check_sample_weight_equivalence`` checks), while every
    epoch still takes many shuffled steps. One hash and sort per fit: meant for
    small data (see ``TrainConfig.grouped_batches``).
    """

    def __init__(self, X, y, sw_host, batch_weight):
        n = X.shape[0]
        # Rows grouped, groups in key order (the same for any row order).
        _, first, self.group, self.by_group = row_groups(X, y)
        self.n_groups = first.shape[0]
        # Where each group's rows start in by_group, and how many (None: one
        # row each, no copies).
        self.blocks = None
        if self.n_groups < n:
            counts = np.bincount(self.group, minlength=self.n_groups)
            self.blocks = (np.cumsum(counts) - counts, counts)
        self.w = np.ones(n) if sw_host is None else np.asarray(sw_host, dtype=np.float64)
        self.total = float(self.w.sum())
        self.n_batches = max(1, math.ceil(self.total / max(batch_weight, 1)))
        cuts = np.round(np.arange(self.n_batches + 1) * (self.total / self.n_batches))
        cuts[-1] = self.total
        self.cuts = np.minimum(cuts, self.total)
        self.unit = sw_host is None
        if self.unit:  # what arrays() returns but the order (made once, read only)
            self._unit = (np.ones(n), self.cuts.astype(np.intp), np.diff(self.cuts))

    def epoch(self, rng, backend):
        """``(rows, weights, n_rows, batch_weight)`` of each batch of an epoch;
        rows and weights are sent to the device once per epoch."""
        rows, overlap, offsets, sizes = self.arrays(rng)
        dev_w = backend.asarray(overlap)
        dev_rows = rows if backend.is_numpy else backend.xp.asarray(rows,
                                                                   device=backend.device)
        for b in range(self.n_batches):
            a, e = int(offsets[b]), int(offsets[b + 1])
            if e > a:
                yield dev_rows[a:e], dev_w[a:e], float(sizes[b]), float(sizes[b])

    def arrays(self, rng):
        """An epoch's batches as NumPy arrays: ``(rows, weights, offsets,
        sizes)``, batch ``b`` the rows ``rows[offsets[b]:offsets[b + 1]]``
        (possibly none) with their ``weights``, of total weight ``sizes[b]``."""
        perm = np.asarray(to_numpy(rng.permutation(self.n_groups)))
        # The groups' blocks of by_group laid end to end in permuted order.
        if self.blocks is None:
            order = self.by_group[perm]
        else:
            starts, counts = self.blocks[0][perm], self.blocks[1][perm]
            shift = starts - (np.cumsum(counts) - counts)
            order = self.by_group[np.repeat(shift, counts) + np.arange(self.group.shape[0])]
        if self.unit:
            # Unit weights and whole cuts: each row lies in one batch, whole.
            return (order, *self._unit)
        w = self.w[order]
        end = np.cumsum(w)
        start = end - w
        cuts = self.cuts.copy()
        cuts[-1] = max(cuts[-1], end[-1])  # the running sum may round above the total
        top = self.n_batches - 1
        first = np.minimum(np.searchsorted(cuts, start, side="right") - 1, top)
        last = np.clip(np.searchsorted(cuts, end, side="left") - 1, first, top)
        counts = last - first + 1
        # A row spanning several batches appears in each of them.
        batch = np.repeat(first, counts) + (
            np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
        overlap = (np.minimum(np.repeat(end, counts), cuts[batch + 1])
                   - np.maximum(np.repeat(start, counts), cuts[batch]))
        keep = overlap > 0
        rows, batch, overlap = np.repeat(order, counts)[keep], batch[keep], overlap[keep]
        offsets = np.searchsorted(batch, np.arange(self.n_batches + 1))
        return rows, overlap, offsets, np.diff(cuts)


@dataclass
class EpochIndex:
    """An epoch's batches, not gathered: batch ``b`` holds the rows
    ``rows[offsets[b]:offsets[b + 1]]``.

    Attributes
    ----------
    rows : ndarray of intp
    offsets : ndarray of intp, one more than the batches
    sizes : ndarray of float64
        Each batch's size for the step rule: its rows, or its weight where
        batches are cut by weight (the ``n_rows`` of :meth:`BatchPlan.epoch`).
    weights : ndarray of float64
        Each batch's total sample weight.
    row_weights : ndarray or None
        Each row's weight in its batch where batches are cut by weight; None
        where the rows carry their sample weights.
    """

    rows: np.ndarray
    offsets: np.ndarray
    sizes: np.ndarray
    weights: np.ndarray
    row_weights: np.ndarray | None

    def __len__(self):
        return len(self.weights)


def _device_batch_weights(sw, perm, starts, n, xp):
    """Per-batch weight sums for a device permutation: one transfer per epoch."""
    cumulative = xp.cumulative_sum(xp.take(sw, perm))
    ends = xp.asarray([min(s, n) - 1 for s in starts[1:]] + [n - 1], device=perm.device)
    totals = to_numpy(xp.take(cumulative, ends)).astype(np.float64)
    return np.diff(np.concatenate(([0.0], totals))).tolist()


class BatchPlan:
    """The mini-batches of each epoch: order, weights, gathered rows and the
    rows' dropout noise.

    Plain batches are consecutive slices of a permutation of the rows (or of
    the rows in order without shuffling). With ``grouped`` (small data,
    shuffled), batches are cut by sample weight over groups of identical rows
    (:class:`_GroupedOrder`): a weight of ``k`` is exactly ``k`` repeated rows.
    """

    def __init__(self, X, y, sw, sw_host, *, batch_size, shuffle, grouped, noise,
                 backend):
        self.backend, self.xp = backend, backend.xp
        self.sw, self.sw_host = sw, sw_host
        n = self.n = X.shape[0]
        self.grouped = (_GroupedOrder(X, y, sw_host, batch_size)
                        if grouped and shuffle else None)
        self.shuffle = shuffle
        B = max(1, min(batch_size, n))
        self.starts = list(range(0, n, B))
        # (start, stop) of each batch; stops stay in bounds (the array API
        # leaves out-of-bounds slices unspecified).
        self.bounds = [(s, min(s + B, n)) for s in self.starts]
        self.fixed_weights = [float(b - a) for a, b in self.bounds]
        # index_epoch's arrays that no epoch changes (made once, read only).
        self._offsets = np.array(self.starts + [n], dtype=np.intp)
        self._sizes = np.diff(self._offsets).astype(np.float64)
        self._whole = None  # the grouped offsets found to have no empty batch
        self.n_batches = (len(self.starts) if self.grouped is None
                          else self.grouped.n_batches)
        # The step sizes' reference: rows, or the total weight when batches
        # are cut by weight.
        self.total = n if self.grouped is None else self.grouped.total
        self.take = [_Gather(a, self.xp) for a in (X, y, sw)]
        # Dropout masks are hashed from the rows' keys where the data lives.
        self.keys = device_row_keys(X, backend) if noise else None

    def _order(self, rng):
        """This epoch's permutation (None: data order), its copy on the device,
        and the batches' weights (Python floats)."""
        backend, xp, sw_host = self.backend, self.xp, self.sw_host
        perm = rng.permutation(self.n) if self.shuffle else None
        dev_perm = perm
        if isinstance(perm, np.ndarray) and not backend.is_numpy:
            dev_perm = xp.asarray(perm, device=backend.device)
        if sw_host is None:
            weights = self.fixed_weights
        elif perm is None or isinstance(perm, np.ndarray):
            w_sorted = sw_host[perm] if perm is not None else sw_host
            weights = np.add.reduceat(w_sorted, self.starts).tolist()
        else:  # pragma: no cover - GPU only: a permutation drawn on the device
            weights = _device_batch_weights(self.sw, perm, self.starts, self.n, xp)
        return perm, dev_perm, weights

    def _row_batches(self, rng):
        """``(rows, None, n_rows, weight)`` of each batch of this epoch: slices of
        a permutation of the rows (the weights are the rows' own)."""
        perm, dev_perm, weights = self._order(rng)
        for (s, e), bw in zip(self.bounds, weights):
            yield (dev_perm[s:e] if perm is not None else slice(s, e)), None, e - s, bw

    def index_epoch(self, rng):
        """This epoch's batches as an :class:`EpochIndex` of NumPy arrays,
        without gathering them (host data). Draws what :meth:`epoch` draws
        and has its batches, in its order."""
        if self.grouped is not None:
            rows, row_weights, offsets, sizes = self.grouped.arrays(rng)
            if offsets is not self._whole:
                keep = offsets[1:] > offsets[:-1]  # as epoch(): no empty batch
                if not keep.all():
                    offsets = np.concatenate((offsets[:1], offsets[1:][keep]))
                    sizes = sizes[keep]
                elif self.grouped.unit:  # the same offsets every epoch, checked
                    self._whole = offsets
            return EpochIndex(rows.astype(np.intp, copy=False), offsets, sizes, sizes,
                              row_weights)
        perm, _, weights = self._order(rng)
        rows = (np.arange(self.n, dtype=np.intp) if perm is None
                else np.asarray(perm).astype(np.intp, copy=False))
        return EpochIndex(rows, self._offsets, self._sizes,
                          self._sizes if weights is self.fixed_weights
                          else np.asarray(weights, dtype=np.float64), None)

    def epoch(self, rng, *, noise_seed, epoch):
        """``(X, y, sample_weight, noise, n_rows, weight)`` of each batch of an
        epoch; ``noise`` is the batch rows' :class:`RowNoise` (or None)."""
        take_X, take_y, take_sw = self.take
        batches = (self.grouped.epoch(rng, self.backend) if self.grouped is not None
                   else self._row_batches(rng))
        epoch_noise = None
        if self.keys is not None:
            epoch_noise = RowNoise(self.backend, None, noise_seed, epoch)
        for idx, sw, size, bw in batches:
            noise = (None if epoch_noise is None
                     else epoch_noise.for_rows(take(self.keys, idx, self.xp)))
            yield (take_X(idx), take_y(idx), take_sw(idx) if sw is None else sw, noise,
                   size, bw)
