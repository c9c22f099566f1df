"""Shared pieces of the benchmarks: child processes with wall time and peak memory,
simulated data through the ``lmmviz simulate`` CLI, and the machine description."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "_worker.py"
LME4_WORKER = HERE / "_lme4_worker.R"
PY = sys.executable
# OpenBLAS variables that this workplace sets for old builds; they slow a current numpy.
BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def child_env(native_blas: bool = True, lmmviz_root: Path | None = None) -> dict:
    """The children's environment: this checkout's lmmviz (or the one in ``lmmviz_root``)
    first on the path, and by default without the OpenBLAS overrides (see README)."""
    env = dict(os.environ)
    if native_blas:
        for v in BLAS_VARS:
            env.pop(v, None)
    root = str(lmmviz_root or ROOT)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


@dataclass
class Measured:
    """One child process: wall time from spawn to exit, peak RSS (wait4's ru_maxrss)."""

    wall_seconds: float
    peak_rss: int  # bytes
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool = False

    def json(self) -> dict | None:
        try:  # a whole JSON document (the CLI's --json) ...
            return json.loads(self.stdout)
        except json.JSONDecodeError:
            pass
        for line in reversed(self.stdout.strip().splitlines()):  # ... or a last JSON line
            line = line.strip()
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    return None
        return None


def measure(cmd: list[str], timeout: float = 600.0, env: dict | None = None, cwd: Path | None = None,
            keep_stdout: bool = True) -> Measured:
    """Run ``cmd``; its own rusage comes from ``os.wait4`` on its pid, so the peak memory
    is this child's alone (its own children, e.g. R's, are not added)."""
    out = tempfile.TemporaryFile() if keep_stdout else subprocess.DEVNULL
    err = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True)
    box: dict = {}

    def reap():
        _, status, ru = os.wait4(proc.pid, 0)
        box["t"] = time.perf_counter()
        box["status"], box["ru"] = status, ru

    th = threading.Thread(target=reap, daemon=True)
    th.start()
    th.join(timeout)
    timed_out = th.is_alive()
    if timed_out:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        th.join()
    proc.returncode = os.waitstatus_to_exitcode(box["status"])  # reaped above: tell Popen
    wall = box["t"] - t0

    def read(f) -> str:
        if f is subprocess.DEVNULL:
            return ""
        f.seek(0)
        text = f.read().decode("utf-8", "replace")
        f.close()
        return text

    return Measured(wall, int(box["ru"].ru_maxrss) * 1024, None if timed_out else proc.returncode,
                    read(out), read(err), timed_out)


# --------------------------------------------------------------------------- data


def dose_spacing(groups: int) -> float:
    """Subjects spread over doses 0..100 whatever their number (baselines rise with dose)."""
    return 100.0 / groups


def simulate(groups: int, n_obs: int, out_dir: Path, seed: int = 1, env: dict | None = None) -> Path:
    """CSV from ``lmmviz simulate`` (cached by its parameters)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    spacing = dose_spacing(groups)
    path = out_dir / f"sim_g{groups}_m{n_obs}_s{seed}.csv"
    if path.exists() and path.stat().st_size > 0:
        return path
    tmp = path.with_suffix(".tmp")
    cmd = [PY, "-m", "lmmviz", "simulate", "--n-subjects", str(groups), "--n-obs", str(n_obs),
           "--dose-spacing", f"{spacing:g}", "--seed", str(seed), "--out", str(tmp)]
    subprocess.run(cmd, check=True, env=env, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tmp.replace(path)
    return path


def simulate_command(groups: int, n_obs: int, seed: int = 1) -> str:
    return (f"lmmviz simulate --n-subjects {groups} --n-obs {n_obs} "
            f"--dose-spacing {dose_spacing(groups):g} --seed {seed} --out FILE")


# --------------------------------------------------------------------------- machine


def have_lme4() -> bool:
    if shutil.which("Rscript") is None:
        return False
    r = subprocess.run(["Rscript", "-e", "cat(requireNamespace('lme4', quietly=TRUE) && "
                        "requireNamespace('jsonlite', quietly=TRUE))"],
                       capture_output=True, text=True)
    return r.stdout.strip().endswith("TRUE")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _blas(env: dict) -> str:
    code = ("import json, numpy\n"
            "try:\n"
            "    import threadpoolctl\n"
            "    info = [{k: d.get(k) for k in ('internal_api', 'version', 'architecture', 'num_threads')}"
            " for d in threadpoolctl.threadpool_info()]\n"
            "except ImportError:\n"
            "    info = 'threadpoolctl not installed'\n"
            "print(json.dumps(info))\n")
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True, env=env, cwd="/")
    return r.stdout.strip() or r.stderr.strip()[-200:]


def machine_info(env: dict, with_r: bool) -> dict:
    vers = subprocess.run(
        [PY, "-c", "import json, numpy, pandas, scipy, statsmodels, nlopt, lmmviz;"
                   "print(json.dumps({'numpy': numpy.__version__, 'pandas': pandas.__version__,"
                   "'scipy': scipy.__version__, 'statsmodels': statsmodels.__version__,"
                   "'nlopt': nlopt.__version__, 'lmmviz': lmmviz.__version__,"
                   "'lmmviz_file': lmmviz.__file__}))"],
        capture_output=True, text=True, env=env, cwd="/")
    info = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(_mem_total() / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": json.loads(vers.stdout) if vers.returncode == 0 else vers.stderr[-300:],
        "blas_children": _blas(env),
        "blas_env_in_children": {v: env.get(v) for v in BLAS_VARS},
    }
    if with_r:
        r = subprocess.run(
            ["Rscript", "-e", "suppressMessages(library(lme4)); cat(R.version.string, '|', "
             "as.character(packageVersion('lme4')), '|', extSoftVersion()[['BLAS']], '|', La_library())"],
            capture_output=True, text=True)
        parts = [p.strip() for p in r.stdout.split("|")]
        if len(parts) == 4:
            info.update({"R": parts[0], "lme4": parts[1], "R_blas": parts[2], "R_lapack": parts[3]})
    return info


def lmmviz_revision() -> dict:
    """The engine version measured: git commit and whether lmmviz/ had local changes."""
    def git(*a):
        r = subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else None
    return {"commit": git("rev-parse", "HEAD"), "lmmviz_dirty": bool(git("status", "--porcelain", "lmmviz"))}


def wait_idle(max_wait: float, threshold: float = 0.5) -> float:
    """Wait (at most max_wait s) until the 1-minute load average is below threshold;
    other processes on a 2-core machine distort every timing. Returns the load then."""
    t0 = time.time()
    while os.getloadavg()[0] >= threshold and time.time() - t0 < max_wait:
        time.sleep(5)
    return os.getloadavg()[0]


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "–"
    return f"{n / 1e6:,.0f} MB"


def fmt_s(s: float | None) -> str:
    if s is None:
        return "–"
    if s < 0.1:
        return f"{s * 1000:.0f} ms"
    if s < 10:
        return f"{s:.2f} s"
    return f"{s:.1f} s"
