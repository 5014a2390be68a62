"""Benchmark: what the user waits for - start-up, and the whole ``cryotm extract`` process.

``python benchmarks/startup.py`` measures, each as the wall time of a fresh
Python process (median of several):

- ``python -c pass`` (the interpreter alone, for reference);
- ``cryotm --version`` (``python -m cryotm --version``), target <= 0.2 s;
- ``import cryotm`` and ``import cryotm`` followed by the first use of a name
  (``cryotm.ScoresMap``);
- the whole ``cryotm extract`` process on scene S512 (512**3, 2000 planted
  peaks, 2000 angles; diameter 12, ``-t sigma:3``, written as an EM motive
  list), against cryoCAT's ``scores_extract_particles`` time *inside the call*
  (imports excluded) in the same run, as ``benchmarks/extraction.py`` runs it.
  Target: cryoCAT's in-call time >= 15x cryotm's whole process.

``--compare-rev REV`` also times ``--version`` and ``import cryotm`` of the
cryotm sources at git revision REV (for a before/after), extracted with
``git archive`` into a temporary folder. ``--quick`` uses the 128**3 scene.
The scenes are generated (once) by ``benchmarks/extraction.py``'s generator.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, os.fspath(HERE))

import extraction  # noqa: E402  (the scenes and the cryoCAT child live there)


def wall(command: list[str], env: dict[str, str], repeat: int) -> float:
    """Median wall time of `command` run `repeat` times (each must succeed), from the folder on PYTHONPATH."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        # run from the source folder: Python puts the working directory first on sys.path
        subprocess.run(command, env=env, cwd=env["PYTHONPATH"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def env_for(source: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=os.fspath(source))
    env.pop("PYTHONSTARTUP", None)
    return env


def startup_times(source: Path, repeat: int) -> dict[str, float]:
    env = env_for(source)
    python = sys.executable
    return {
        "python -c pass": wall([python, "-c", "pass"], env, repeat),
        "cryotm --version": wall([python, "-m", "cryotm", "--version"], env, repeat),
        "cryotm --help": wall([python, "-m", "cryotm", "--help"], env, repeat),
        "import cryotm": wall([python, "-c", "import cryotm"], env, repeat),
        "import cryotm; cryotm.ScoresMap": wall([python, "-c", "import cryotm; cryotm.ScoresMap"], env, repeat),
    }


def source_at(rev: str, into: Path) -> Path:
    """The ``cryotm`` package at git revision `rev`, extracted under `into`."""
    archive = subprocess.run(["git", "-C", os.fspath(ROOT), "archive", rev, "cryotm"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", os.fspath(into)], input=archive, check=True)
    return into


def extract_process(folder: Path, repeat: int) -> float:
    """Median wall time of the whole ``cryotm extract`` process on the scene in `folder`."""
    out = folder / "_startup_bench.em"
    command = [sys.executable, "-m", "cryotm", "extract", os.fspath(folder / "scores.mrc"),
               os.fspath(folder / "angles.mrc"), os.fspath(folder / "angles.csv"), "-d", str(extraction.DIAMETER),
               "-t", f"sigma:{extraction.SIGMA}", "-o", os.fspath(out), "--overwrite", "-q"]
    extraction.warm_page_cache(folder)
    try:
        return wall(command, env_for(ROOT), repeat)
    finally:
        out.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the 128**3 scene instead of S512")
    parser.add_argument("--repeat", type=int, default=7, help="runs per start-up figure (default 7)")
    parser.add_argument("--compare-rev", metavar="REV", help="also time start-up at this git revision")
    parser.add_argument("--no-cryocat", action="store_true", help="skip cryoCAT (and the ratio)")
    args = parser.parse_args()

    print(f"start-up (median of {args.repeat} fresh processes, wall time)")
    now = startup_times(ROOT, args.repeat)
    before = None
    if args.compare_rev:
        with tempfile.TemporaryDirectory() as tmp:
            before = startup_times(source_at(args.compare_rev, Path(tmp)), args.repeat)
    header = f"{'':36s} {'this tree':>10s}" + (f" {args.compare_rev[:10]:>10s}" if before else "")
    print(header)
    for key, seconds in now.items():
        line = f"{key:36s} {seconds:9.3f}s"
        if before:
            line += f" {before[key]:9.3f}s"
        print(line)
    verdict = "meets" if now["cryotm --version"] <= 0.2 else "misses"
    print(f"cryotm --version {now['cryotm --version']:.3f} s: {verdict} the 0.2 s target")

    name = "S128" if args.quick else "S512"
    folder = extraction.ensure_scene(name)
    whole = extract_process(folder, repeat=3)
    print(f"\nscene {name} {extraction.SCENE_SPECS[name][0]}: whole 'cryotm extract' process "
          f"(median of 3) {whole:.3f} s")
    if not args.no_cryocat:
        theirs = extraction.run_child("cryocat", folder)
        ratio = theirs["seconds"] / whole
        print(f"cryoCAT scores_extract_particles, time in the call: {theirs['seconds']:.3f} s")
        print(f"cryoCAT in-call / cryotm whole process: {ratio:.1f}x "
              f"({'meets' if ratio >= 15 else 'misses'} the 15x target)")


if __name__ == "__main__":
    main()
