"""Helpers shared by the benchmark scripts of ``benchmarks/``.

* :func:`machine_description` -- the platform, CPU, memory, library versions and
  BLAS/OpenMP configuration, as plain-text lines (no host name).
* :func:`timed` / :class:`Timer` -- wall-clock timing with ``time.perf_counter``.
* :func:`peak_memory` -- the extra resident memory (RSS) that a call allocates at
  its peak, measured in a forked child process; :func:`peak_traced_memory` --
  the peak of Python/NumPy allocations traced by ``tracemalloc``, in process.
* :func:`format_table` -- a Markdown table from rows of strings.
* :func:`write_results` -- save a report under ``benchmarks/results/``.

Nothing here imports skoptim, so the helpers also describe a run of the peers
alone.
"""

# SPDX-License-Identifier: BSD-3-Clause

import datetime
import gc
import io
import math
import multiprocessing
import os
import platform
import subprocess
import sys
import time
import tracemalloc
import traceback
import warnings
from contextlib import redirect_stdout
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------
# Machine description
# --------------------------------------------------------------------------


def _read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cpu_model():
    """The CPU model name (``/proc/cpuinfo``, else ``platform.processor()``)."""
    for line in _read("/proc/cpuinfo").splitlines():
        if line.lower().startswith(("model name", "hardware", "cpu model")):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


def cpu_flags_summary():
    """Which of the vector extensions that matter for BLAS the CPU reports."""
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            wanted = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile"]
            return " ".join(f for f in wanted if f in flags) or "none of avx/avx2/avx512"
    return "unknown"


def n_cores():
    """``(logical CPUs of the machine, CPUs this process may run on)``."""
    total = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = total
    return total, usable


def memory_total_bytes():
    """Physical memory in bytes (``/proc/meminfo``), or None."""
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return None


def cgroup_limits():
    """CPU and memory limits of the container (cgroup v2/v1), as text, or ''."""
    parts = []
    cpu_max = _read("/sys/fs/cgroup/cpu.max").split()
    if len(cpu_max) == 2 and cpu_max[0] != "max":
        parts.append(f"cpu quota {int(cpu_max[0]) / int(cpu_max[1]):g} CPUs")
    mem_max = _read("/sys/fs/cgroup/memory.max").strip()
    if mem_max and mem_max != "max":
        parts.append(f"memory limit {format_bytes(int(mem_max))}")
    return ", ".join(parts)


def git_revision():
    """The repository's commit and whether the tree has local changes, or ''."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=10)
        if rev.returncode != 0:
            return ""
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        return rev.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip()
                                     else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def source_fingerprint(package="skoptim"):
    """A short hash of the package's ``.py`` sources as imported, and the time
    of the newest file: identifies the code a run measured when the working
    tree has uncommitted changes."""
    import hashlib

    try:
        module = __import__(package)
    except ImportError:
        return ""
    root = Path(module.__file__).resolve().parent
    digest = hashlib.sha256()
    newest = 0.0
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
        newest = max(newest, path.stat().st_mtime)
    stamp = datetime.datetime.fromtimestamp(newest, datetime.timezone.utc)
    return f"sha256 {digest.hexdigest()[:12]}, newest file {stamp:%Y-%m-%d %H:%M:%S} UTC"


def _version(module_name):
    try:
        module = __import__(module_name)
    except ImportError:
        return None
    return getattr(module, "__version__", "unknown")


def blas_description():
    """Lines on the BLAS/OpenMP libraries loaded now (threadpoolctl), or NumPy's
    build configuration when threadpoolctl is missing."""
    lines = []
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            desc = (f"{info.get('internal_api')} {info.get('version') or ''}".strip()
                    + f", {info.get('num_threads')} threads")
            if info.get("threading_layer"):
                desc += f", {info['threading_layer']}"
            if info.get("architecture"):
                desc += f", kernel {info['architecture']}"
            desc += f" ({info.get('prefix')}, {info.get('user_api')})"
            lines.append(desc)
    except ImportError:
        pass
    if not lines:
        try:
            import numpy as np

            buf = io.StringIO()
            with redirect_stdout(buf):
                np.show_config()
            lines = [ln for ln in buf.getvalue().splitlines() if ln.strip()][:20]
        except Exception:  # pragma: no cover - best effort only
            lines = ["unknown"]
    return lines


def numpy_blas_build():
    """NumPy's own BLAS/LAPACK build entry (``np.show_config(mode='dicts')``)."""
    try:
        import numpy as np

        cfg = np.show_config(mode="dicts")
        deps = cfg.get("Build Dependencies", {})
        out = []
        for key in ("blas", "lapack"):
            d = deps.get(key, {})
            if d:
                out.append(f"{key}: {d.get('name')} {d.get('version', '')}".strip())
        return "; ".join(out)
    except Exception:
        return ""


def machine_description(extra_modules=()):
    """The machine and software a benchmark ran on, as a list of text lines.

    No host name is included. ``extra_modules`` adds the versions of more
    packages (e.g. ``("torch",)``) when they are importable.
    """
    total, usable = n_cores()
    mem = memory_total_bytes()
    lines = [
        f"date (UTC): {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M}",
        f"platform: {platform.platform()}",
        f"python: {platform.python_implementation()} {platform.python_version()}",
        f"CPU: {cpu_model()} ({platform.machine()}; {cpu_flags_summary()})",
        f"cores: {total} logical, {usable} usable by this process",
        f"memory: {format_bytes(mem) if mem else 'unknown'}",
    ]
    limits = cgroup_limits()
    if limits:
        lines.append(f"container limits: {limits}")
    versions = []
    for name in ("numpy", "scipy", "sklearn", "skoptim", "threadpoolctl", *extra_modules):
        v = _version(name)
        if v is not None:
            versions.append(f"{'scikit-learn' if name == 'sklearn' else name} {v}")
    lines.append("versions: " + ", ".join(versions))
    build = numpy_blas_build()
    if build:
        lines.append(f"numpy build: {build}")
    lines.append("thread pools (threadpoolctl):")
    lines.extend(f"  - {ln}" for ln in blas_description())
    env = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                      "MKL_NUM_THREADS") if k in os.environ}
    if env:
        lines.append("thread env: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    rev = git_revision()
    if rev:
        lines.append(f"skoptim git revision: {rev}")
    fp = source_fingerprint()
    if fp:
        lines.append(f"skoptim sources: {fp}")
    return lines


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------


class Timer:
    """Context manager measuring wall time with ``time.perf_counter``.

    >>> with Timer() as t:
    ...     pass
    >>> t.seconds >= 0
    True
    """

    def __enter__(self):
        self.start = time.perf_counter()
        self.seconds = None
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        return False


def timed(func, *args, **kwargs):
    """Call ``func(*args, **kwargs)``; return ``(result, wall seconds)``.

    A garbage collection runs before the clock starts, so that collecting the
    previous call's garbage is not charged to this one.
    """
    gc.collect()
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - start


def median(values):
    values = sorted(values)
    n = len(values)
    if n == 0:
        return math.nan
    mid = n // 2
    return values[mid] if n % 2 else 0.5 * (values[mid - 1] + values[mid])


# --------------------------------------------------------------------------
# Memory
# --------------------------------------------------------------------------


def _status_kib(field):
    for line in _read("/proc/self/status").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def _reset_peak_rss():
    """Reset the kernel's RSS high-water mark (VmHWM) to the current RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _picklable(obj):
    import pickle

    try:
        pickle.dumps(obj)
    except Exception:
        return False
    return True


def _peak_child(conn, func, args, kwargs, setup=None):
    try:
        setup_seconds = None
        if setup is not None:
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                setup()
            setup_seconds = time.perf_counter() - start
        gc.collect()
        rss_before = _status_kib("VmRSS")
        exact = _reset_peak_rss()
        if not exact:
            import resource

            # ru_maxrss is a high-water mark since the process started, which
            # for a forked child includes the parent's pages: only an upper bound.
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = func(*args, **kwargs)
        seconds = time.perf_counter() - start
        if exact:
            peak = _status_kib("VmHWM")
        else:
            import resource

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        conn.send({"peak_extra_bytes": max(0, peak - rss_before) * 1024,
                   "rss_before_bytes": rss_before * 1024, "seconds": seconds,
                   "setup_seconds": setup_seconds,
                   "exact": exact, "error": None,
                   "result": result if _picklable(result) else None})
    except BaseException:  # report, never hang the parent
        conn.send({"error": traceback.format_exc()})
    finally:
        conn.close()


def peak_memory(func, *args, timeout=None, setup=None, **kwargs):
    """Peak extra resident memory of ``func(*args, **kwargs)``, in a child process.

    The call runs in a forked child, which shares the parent's data (e.g. the
    training set) without copying it. The child resets the kernel's RSS
    high-water mark just before the call (``/proc/self/clear_refs``) and reads it
    after, so the result is the largest amount of memory the call itself added
    (data copies, buffers, the model), not the inputs it was given. Where the
    reset is not available, ``resource.getrusage(...).ru_maxrss`` is used and
    the figure is an upper bound (``exact`` is then False).

    ``setup`` (a callable, or None) runs in the child first, outside the
    measurement: a warm-up that imports and loads what the library needs
    (its wall time is returned as ``setup_seconds``).

    Returns a dict: ``peak_extra_bytes``, ``rss_before_bytes``, ``seconds``
    (the call's wall time in the child), ``exact``, ``error`` (None, or the
    child's traceback) and ``result`` (what the call returned, if picklable). Without ``fork`` (Windows, macOS spawn), falls back to
    :func:`peak_traced_memory` in process.
    """
    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:  # pragma: no cover - no fork on this platform
        if setup is not None:
            setup()
        res = peak_traced_memory(func, *args, **kwargs)
        return {"peak_extra_bytes": res["peak_traced_bytes"], "rss_before_bytes": None,
                "seconds": res["seconds"], "exact": False, "error": None}
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_peak_child, args=(child_conn, func, args, kwargs, setup))
    sys.stdout.flush()
    sys.stderr.flush()
    proc.start()
    child_conn.close()
    try:
        if parent_conn.poll(timeout):
            result = parent_conn.recv()
        else:
            result = {"error": f"timed out after {timeout} s"}
    except EOFError:
        result = {"error": "child process died (out of memory?)"}
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
    return result


def peak_traced_memory(func, *args, **kwargs):
    """Peak of the memory traced by ``tracemalloc`` during ``func(...)``, in process.

    NumPy reports its array buffers to ``tracemalloc``, so this counts array
    copies and temporaries made by the call (not memory of BLAS or other C
    libraries that bypass Python's allocators). Tracing slows Python-heavy code
    down; the time returned is not a benchmark time.
    """
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            func(*args, **kwargs)
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return {"peak_traced_bytes": max(0, peak - base), "seconds": seconds}


def format_bytes(n):
    if n is None:
        return "n/a"
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------


def format_table(header, rows, align=None):
    """A Markdown table; ``align`` is a string of 'l'/'r' per column."""
    cols = len(header)
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(str(header[i])), *(len(r[i]) for r in rows)) if rows
              else len(str(header[i])) for i in range(cols)]
    align = align or "l" * cols

    def fmt(cells):
        out = []
        for i, c in enumerate(cells):
            out.append(c.rjust(widths[i]) if align[i] == "r" else c.ljust(widths[i]))
        return "| " + " | ".join(out) + " |"

    sep = "|" + "|".join(("-" * (widths[i] + 1) + ":") if align[i] == "r"
                         else ("-" * (widths[i] + 2)) for i in range(cols)) + "|"
    return "\n".join([fmt([str(h) for h in header]), sep, *(fmt(r) for r in rows)])


class Report:
    """Collects text that is printed as it comes and saved at the end."""

    def __init__(self):
        self.lines = []

    def __call__(self, text=""):
        print(text, flush=True)
        self.lines.append(str(text))

    def text(self):
        return "\n".join(self.lines) + "\n"


def write_results(name, text):
    """Write ``text`` to ``benchmarks/results/<name>``; return the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / name
    path.write_text(text)
    return path


def add_save_argument(parser):
    """``--save``: a run writes ``benchmarks/results/`` only when asked."""
    parser.add_argument("--save", action="store_true",
                        help="write the report to benchmarks/results/ (a run changes "
                             "no file otherwise; --output NAME implies it)")


def save_results(args, name, text):
    """Write the report when ``--save`` or ``--output`` asks for it; say so."""
    if not (getattr(args, "save", False) or getattr(args, "output", None)):
        print(f"\nnot written (pass --save to write benchmarks/results/{name})")
        return None
    path = write_results(name, text)
    print(f"\nwritten to {path}")
    return path


def prepare_run(blas_threads=None):
    """Before a run: limit the BLAS threads (``None``: leave them) and import
    scikit-learn and skoptim, whose versions the machine description lists."""
    if blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(blas_threads)
    import sklearn  # noqa: F401

    import skoptim  # noqa: F401


def report_header(log, title, script, argv, *, extra_modules=()):
    """Start a report: the title, the command line and the machine section
    (``argv`` None: this process's arguments)."""
    log(title)
    log("")
    log(f"command: python benchmarks/{script} "
        + " ".join(sys.argv[1:] if argv is None else argv))
    log("")
    log("## Machine")
    log("")
    for line in machine_description(extra_modules=extra_modules):
        log(line if line.startswith("  ") else f"- {line}")
    log("")
