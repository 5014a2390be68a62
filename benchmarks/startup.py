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
  Target: cryoCAT's in-call time >= 15x cryotm's whole process. Both wall
  and CPU time (user + system) are shown: on a shared, loaded machine the CPU
  times are the steadier comparison.

``--compare-rev REV`` also times all of these (the extract process too) with
the cryotm sources and plugins at git revision REV (for a before/after),
extracted with ``git archive`` into a temporary folder. ``--quick`` uses the
128**3 scene. The scenes are generated (once) by
``benchmarks/extraction.py``'s generator. Each tree's bytecode is written
first, as an installation does. The figures go to
``benchmarks/results/startup.md`` (``--output``).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
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


def run_times(command: list[str], env: dict[str, str], repeat: int) -> tuple[float, float]:
    """Median wall time and CPU time (user + system) of `command` run `repeat` times (each must succeed).

    Each run starts from the folder on PYTHONPATH: Python puts the working
    directory first on ``sys.path``.
    """
    walls, cpus = [], []
    for _ in range(repeat):
        cpu = children_cpu()
        start = time.perf_counter()
        subprocess.run(command, env=env, cwd=env["PYTHONPATH"].split(os.pathsep)[0], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        cpus.append(children_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def env_for(source: Path) -> dict[str, str]:
    """The environment of a timed process: `source` (and its plugins) first on the path.

    The plugins installed (in editable mode) are found through their entry
    points; the sources of `source`'s own ``plugins/`` come first, so that
    the figures are that tree's.
    """
    plugins = sorted(os.fspath(path) for path in (source / "plugins").glob("*/src"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.fspath(source), *plugins]))
    env.pop("PYTHONSTARTUP", None)
    return env


def compile_sources(*folders: Path) -> None:
    """Write the bytecode of `folders` first, as an installation does (with PYTHONDONTWRITEBYTECODE set,
    every timed process would otherwise compile the sources anew)."""
    for folder in folders:
        compileall.compile_dir(os.fspath(folder), quiet=1)


def startup_times(source: Path, repeat: int) -> dict[str, tuple[float, float]]:
    compile_sources(source / "cryotm")
    env = env_for(source)
    python = sys.executable
    commands = {
        "python -c pass": ["-c", "pass"],
        "cryotm --version": ["-m", "cryotm", "--version"],
        "cryotm --help": ["-m", "cryotm", "--help"],
        "import cryotm": ["-c", "import cryotm"],
        "import cryotm; cryotm.ScoresMap": ["-c", "import cryotm; cryotm.ScoresMap"],
    }
    return {key: run_times([python, *args], env, repeat) for key, args in commands.items()}


def source_at(rev: str, into: Path) -> Path:
    """The ``cryotm`` package and the plugins at git revision `rev`, extracted under `into`."""
    archive = subprocess.run(["git", "-C", os.fspath(ROOT), "archive", rev, "cryotm", "plugins"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", os.fspath(into)], input=archive, check=True)
    return into


def extract_process(folder: Path, repeat: int, source: Path = ROOT) -> tuple[float, float]:
    """Median wall time and CPU time (user + system) of the whole ``cryotm extract`` process on `folder`'s scene."""
    out = folder / "_startup_bench.em"
    command = [sys.executable, "-m", "cryotm", "extract", os.fspath(folder / "scores.mrc"),
               os.fspath(folder / "angles.mrc"), os.fspath(folder / "angles.csv"), "-d", str(extraction.DIAMETER),
               "-t", f"sigma:{extraction.SIGMA}", "-o", os.fspath(out), "--overwrite", "-q"]
    compile_sources(source / "cryotm", source / "plugins")
    extraction.warm_page_cache(folder)
    try:
        return run_times(command, env_for(source), repeat)
    finally:
        out.unlink(missing_ok=True)


def cryocat_in_call(folder: Path) -> dict:
    """cryoCAT's wall and CPU time inside ``scores_extract_particles`` (a child process; imports excluded)."""
    extraction.warm_page_cache(folder)
    command = [sys.executable, os.fspath(Path(__file__).resolve()), "--child-cryocat", os.fspath(folder)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_cryocat(folder: Path) -> None:
    import cryocat.tmana  # noqa: F401  (imported before the clocks start, as in extraction.py)

    cpu = time.process_time()
    report = extraction.child_cryocat(folder, folder / "_startup_cryocat.npz")
    report["cpu"] = time.process_time() - cpu
    (folder / "_startup_cryocat.npz").unlink(missing_ok=True)
    print(json.dumps(report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the 128**3 scene instead of S512")
    parser.add_argument("--repeat", type=int, default=7, help="runs per start-up figure (default 7)")
    parser.add_argument("--compare-rev", metavar="REV", help="also time everything at this git revision")
    parser.add_argument("--no-cryocat", action="store_true", help="skip cryoCAT (and the ratio)")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "startup.md",
                        help="the results table (markdown; default benchmarks/results/startup.md)")
    parser.add_argument("--child-cryocat", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_cryocat:
        child_cryocat(Path(args.child_cryocat))
        return

    name = "S128" if args.quick else "S512"
    folder = extraction.ensure_scene(name)
    extract_key = f"cryotm extract on {name}, whole process"
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this tree": ROOT}
        if args.compare_rev:
            trees[args.compare_rev[:10]] = source_at(args.compare_rev, Path(tmp))
        figures: dict[str, dict[str, tuple[float, float]]] = {}
        for label, source in trees.items():
            figures[label] = startup_times(source, args.repeat)
            figures[label][extract_key] = extract_process(folder, repeat=3, source=source)
    theirs = None if args.no_cryocat else cryocat_in_call(folder)

    lines = [f"# Start-up and the whole `cryotm extract` process ({time.strftime('%Y-%m-%d')})", "",
             f"Fresh processes, median of {args.repeat} (the extract process: of 3); wall and CPU (user + system) "
             f"time; load average {os.getloadavg()[0]:.2f} at the end on {os.cpu_count()} cores.", "",
             "| what | " + " | ".join(f"{label} wall | {label} CPU" for label in figures) + " |",
             "|---|" + "---|---|" * len(figures)]
    for key in figures["this tree"]:
        lines.append(f"| {key} | " + " | ".join(f"{figures[label][key][0]:.3f} s | {figures[label][key][1]:.3f} s"
                                                for label in figures) + " |")
    if theirs is not None:
        lines.append(f"| cryoCAT scores_extract_particles on {name}, inside the call | "
                     + " | ".join(f"{theirs['seconds']:.3f} s | {theirs['cpu']:.3f} s" for _ in figures) + " |")
        lines += ["", "cryoCAT's time inside the call / cryotm's whole process (target: 15x or more):", ""]
        for label, values in figures.items():
            wall, cpu = values[extract_key]
            lines.append(f"- {label}: {theirs['seconds'] / wall:.1f}x wall, {theirs['cpu'] / cpu:.1f}x CPU")
    version = figures["this tree"]["cryotm --version"][0]
    lines += ["", f"`cryotm --version`: {version:.3f} s wall ({'meets' if version <= 0.2 else 'misses'} the 0.2 s "
              "target)."]
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)


if __name__ == "__main__":
    main()
