"""Running where trainers run: after a fork, from several threads under
numba's workqueue layer, and from a read-only install. Each case runs in a
fresh subprocess (numba's threading layer and the at-fork state are per
process), with a timeout so that a hang fails instead of blocking the run."""

import ctypes
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.engines import _kernels, _launch
from shapley_sets.engines._kernels import SETS_PER_TASK

REPO = Path(__file__).resolve().parents[1]

# Every parallel kernel, each on a batch above one task (the parallel path).
# The script defines inputs deterministically and a function ``compute_all``
# returning the results by name.
ENGINES_SCRIPT = textwrap.dedent(
    f"""
    import numpy as np
    import shapley_sets as ss

    N = {3 * SETS_PER_TASK + 7}

    def compute_all():
        rng = np.random.default_rng(5)
        x = rng.random((N, 9))
        x[:, ::3] = x[:, ::3].round(1)
        mask = rng.random((N, 9)) < 0.8
        return {{
            "best_of": ss.shapley(ss.BestOf(0.1), x, mask=mask),
            "top_k": ss.shapley(ss.TopK(3), x, mask=mask),
            "mean": ss.shapley(ss.RankWeighted.mean(), x, mask=mask),
            "any_success": ss.shapley(ss.AnySuccess(), x, mask=mask),
            "expected_best": ss.shapley(
                ss.ExpectedBest([0.25, 0.25, 0.5]), rng.random((N, 3, 9)), mask=mask),
            "table": ss.exact_shapley(rng.normal(size=(200, 1 << 10))),
        }}
    """
)


def _run(code, *, env=None, timeout=240, **kwargs):
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    try:
        return subprocess.run(
            [sys.executable, "-c", code], env=full_env, cwd=str(REPO), capture_output=True,
            text=True, timeout=timeout, **kwargs,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the subprocess hung (no answer in {timeout} s): {exc.stdout!r} {exc.stderr!r}")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
def test_forked_children_compute_after_a_parallel_call_in_the_parent():
    # The parent launches numba's thread pool, then a fork pool's children
    # (multiprocessing's start method on Linux, and data-loader workers')
    # compute the same batches: with GNU OpenMP they used to be terminated on
    # their first parallel launch while the parent waited for ever.
    code = ENGINES_SCRIPT + textwrap.dedent(
        """
        import multiprocessing, numba
        parent = compute_all()
        assert numba.threading_layer()  # the pool has started

        def child(_):
            from shapley_sets.engines import _launch
            return _launch.parallel_allowed(), compute_all()

        with multiprocessing.get_context("fork").Pool(2) as pool:
            answers = pool.map(child, range(2))
        for allowed, results in answers:
            assert not allowed
            for name, values in results.items():
                assert np.array_equal(values, parent[name]), name
        print("forked children ok")
        """
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert "forked children ok" in result.stdout


@pytest.mark.parametrize("layer", ["workqueue", None], ids=["workqueue", "default layer"])
def test_threads_launch_safely(layer):
    # numba's workqueue layer aborts the process when two threads launch
    # parallel kernels at once; the launches must be serialised, with the
    # same values as a single thread's. Under the default layer (omp or tbb
    # here) threads launch freely and must agree as well.
    code = ENGINES_SCRIPT + textwrap.dedent(
        f"""
        import threading, numba
        expected = compute_all()
        layer = numba.threading_layer()
        assert {layer!r} is None or layer == {layer!r}, layer
        failures = []

        def work():
            for _ in range(3):
                for name, values in compute_all().items():
                    if not np.array_equal(values, expected[name]):
                        failures.append(name)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not failures, failures
        print("threads ok")
        """
    )
    env = {} if layer is None else {"NUMBA_THREADING_LAYER": layer}
    result = _run(code, env=env)
    assert result.returncode == 0, result.stderr
    assert "threads ok" in result.stdout


def test_a_forked_child_takes_the_serial_path(monkeypatch):
    calls = []
    monkeypatch.setattr(_launch, "_forked_after_pool", True)
    _kernels.run_in_chunks(lambda out, a, b: calls.append(("chunk", a, b)),
                           lambda out: calls.append(("parallel",)), 4 * SETS_PER_TASK, None)
    assert calls == [("chunk", 0, 4 * SETS_PER_TASK)]
    assert not _launch.parallel_allowed()


def test_the_first_launch_is_serialised_and_learns_the_layer(monkeypatch):
    # Until a launch has started numba's pool the layer is unknown and
    # launches hold the lock; a launch that starts no pool learns nothing.
    monkeypatch.setattr(_launch, "_layer", None)
    seen = []
    _launch.launch(lambda: seen.append(_launch._lock.locked()))
    assert seen == [True]
    x = np.random.default_rng(0).random((2 * SETS_PER_TASK, 4))
    ss.shapley(ss.BestOf(), x)
    import numba

    assert _launch._layer == numba.threading_layer()


def test_every_kernel_module_uses_the_caching_fallback():
    # numba's own njit(cache=True) fails at import on a read-only install;
    # every kernel goes through shapley_sets._jit.njit instead.
    offenders = []
    for path in (REPO / "shapley_sets").rglob("*.py"):
        if path.name == "_jit.py":
            continue
        text = path.read_text()
        if "from numba import njit" in text or "numba.njit" in text or "from numba import jit" in text:
            offenders.append(str(path.relative_to(REPO)))
    assert not offenders


# -- read-only installs --------------------------------------------------------

_DAC_CAPS = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
_PR_CAPBSET_DROP = 24


def _drop_to_nobody():
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def _drop_file_capabilities():
    # Root without these capabilities obeys file modes like any user; from
    # the bounding set, they are gone from the exec'd interpreter.
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in _DAC_CAPS:
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _unprivileged_launcher():
    """A preexec_fn under which file modes are enforced, or a skip reason."""
    if not sys.platform.startswith("linux"):
        return None, "dropping privileges is implemented for Linux only"
    if os.geteuid() != 0:
        return (lambda: None), None  # already subject to file modes
    probe = "open('/proc/self/status').read()"
    for launcher in (_drop_to_nobody, _drop_file_capabilities):
        try:
            ok = subprocess.run([sys.executable, "-c", probe], preexec_fn=launcher,
                                capture_output=True, timeout=60).returncode == 0
        except (OSError, subprocess.SubprocessError):
            ok = False
        if ok:
            return launcher, None
    return None, ("running as root, and neither setuid(nobody) leaves the interpreter "
                  "runnable nor can CAP_DAC_OVERRIDE be dropped: file modes cannot be enforced")


def _make_read_only(root: Path):
    for path in [root, *root.rglob("*")]:
        mode = 0o555 if path.is_dir() else 0o444
        path.chmod(mode)


def _make_writable(root: Path):
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_imports_and_computes_from_a_read_only_install():
    launcher, reason = _unprivileged_launcher()
    if launcher is None:
        pytest.skip(reason)
    work = Path(tempfile.mkdtemp(prefix="ss-readonly-"))
    try:
        shutil.copytree(REPO / "shapley_sets", work / "site" / "shapley_sets",
                        ignore=shutil.ignore_patterns("__pycache__"))
        (work / "home").mkdir()
        _make_read_only(work)
        work.chmod(0o755)  # traversable by an unprivileged user, still not theirs
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("NUMBA_CACHE") and k != "XDG_CACHE_HOME"}
        env.update(HOME=str(work / "home"), PYTHONPATH=str(work / "site"),
                   PYTHONDONTWRITEBYTECODE="1")
        code = ENGINES_SCRIPT + textwrap.dedent(
            f"""
            import os, warnings
            for where in ({str(work / "site" / "shapley_sets")!r}, {str(work / "home")!r}):
                try:
                    open(os.path.join(where, "probe"), "w")
                except PermissionError:
                    pass
                else:
                    raise SystemExit("file modes are not enforced in " + where)
            assert ss.__file__.startswith({str(work)!r}), ss.__file__
            from shapley_sets._jit import uncached_kernels
            assert uncached_kernels(), "expected kernels compiled without a cache"
            results = compute_all()
            np.save(os.sys.stdout.buffer, np.concatenate(
                [v.ravel() for _, v in sorted(results.items())]))
            """
        )
        result = subprocess.run(
            [sys.executable, "-W", "always::RuntimeWarning", "-c", code], env=env,
            cwd=str(work), preexec_fn=launcher, capture_output=True, timeout=600,
        )
        stderr = result.stderr.decode(errors="replace")
        assert result.returncode == 0, stderr
        assert "CacheUnavailableWarning" in stderr
        assert "cannot cache" in stderr
        got = np.load(__import__("io").BytesIO(result.stdout))
    finally:
        _make_writable(work)
        shutil.rmtree(work, ignore_errors=True)
    namespace = {}
    exec(ENGINES_SCRIPT, namespace)
    expected = namespace["compute_all"]()
    want = np.concatenate([v.ravel() for _, v in sorted(expected.items())])
    assert np.array_equal(got, want)


# -- warm-up -------------------------------------------------------------------

def test_warmup_compiles_every_kernel_and_a_second_run_compiles_nothing(tmp_path):
    # A fresh cache: every kernel, including those only called from other
    # kernels, gets compiled; then a new process finds everything cached.
    env = {"NUMBA_CACHE_DIR": str(tmp_path)}
    first = _run("from shapley_sets.cli.main import main; raise SystemExit(main(['warmup']))",
                 env=env, timeout=900)
    assert first.returncode == 0, first.stderr
    lines = [line for line in first.stdout.splitlines() if line.startswith("  ")]
    assert lines and all(not line.endswith(": 0 specialisations") for line in lines), first.stdout
    assert "shapley_sets.engines.rank_weighted._step_kernel" in first.stdout
    assert f"cached {tmp_path}" in first.stdout
    cached = sorted(p.name for p in tmp_path.rglob("*.nbi"))
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.nb*")}
    second = _run("import shapley_sets as ss; ss.warmup()", env=env, timeout=900)
    assert second.returncode == 0, second.stderr
    assert sorted(p.name for p in tmp_path.rglob("*.nbi")) == cached
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.nb*")} == stamps


def test_every_kernel_is_listed_for_warmup():
    from shapley_sets._warmup import kernels

    names = set(kernels())
    for path in (REPO / "shapley_sets").rglob("*.py"):
        if "integrations" in path.parts:
            continue
        text = path.read_text()
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        for match in __import__("re").finditer(r"@njit\((?P<opts>[^)]*)\)\s*\ndef (?P<name>\w+)", text):
            if 'inline="always"' in match["opts"]:
                continue
            assert f"{module}.{match['name']}" in names


def test_read_only_and_writable_inputs_share_one_specialisation():
    # What warmup compiled must serve a caller's read-only array too.
    from shapley_sets.engines import any_success, expected_best, rank_weighted, reference

    rng = np.random.default_rng(8)
    x = rng.random((3, 6))
    frozen = x.copy()
    frozen.flags.writeable = False
    cases = [
        (rank_weighted._step_chunk, lambda a: ss.shapley(ss.BestOf(), a)),
        (any_success._any_success_chunk, lambda a: ss.shapley(ss.AnySuccess(), a)),
        (expected_best._expected_best_chunk,
         lambda a: ss.shapley(ss.ExpectedBest(n_types=1), a[:, None, :])),
        (reference._exact_shapley_chunk, lambda a: ss.exact_shapley(np.tile(a, (1, 11))[:, :64])),
    ]
    for kernel, call in cases:
        want = call(x)
        before = len(kernel.signatures)
        assert np.array_equal(call(frozen), want)
        assert len(kernel.signatures) == before, kernel
    assert frozen.flags.writeable is False and x.flags.writeable is True


def test_every_parallel_kernel_is_launched_through_the_safe_path():
    # A parallel=True kernel called directly would bypass the fork and
    # workqueue guards: its module must go through run_in_chunks,
    # run_rows_in_tasks or launch.
    offenders = []
    for path in (REPO / "shapley_sets").rglob("*.py"):
        text = path.read_text()
        if "parallel=True" in text and path.name != "_kernels.py":
            if not any(safe in text for safe in ("run_in_chunks(", "run_rows_in_tasks(", "launch(")):
                offenders.append(str(path.relative_to(REPO)))
    assert not offenders
