"""Particle-list formats: write and read times of cryotm against cryoCAT, in the same process.

    python benchmarks/formats.py            # 100,000 particles
    python benchmarks/formats.py --quick    # 2,000 particles

cryoCAT's STAR reader needs ``pd.to_numeric(errors="ignore")``, gone in pandas 3;
the benchmark restores it for cryoCAT's reads (as the parity tests do). cryoCAT's
STOPGAP and RELION writers crash under pandas 3 and are not timed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.spatial.transform import Rotation

from cryotm import ParticleList
from cryotm.formats import read_particles, write_particles
from cryotm.testing import Pandas2ToNumeric

SHAPE = (200, 500, 500)


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 particles")
    parser.add_argument("-n", type=int, default=100_000, help="number of particles (default 100,000)")
    args = parser.parse_args()
    n = 2_000 if args.quick else args.n
    rng = np.random.default_rng(0)
    plist = ParticleList.from_arrays(
        rng.uniform(0, 499, (n, 3)), orientations=Rotation.random(n, random_state=0), scores=rng.uniform(size=n),
        tomo_id=1, experiment_id="TS_001", pixel_size=10.0, tomogram_shape=SHAPE,
    )  # fmt: skip
    try:
        import cryocat.cryomotl as cm
        import cryocat.starfileio as sio

        sio.pd = Pandas2ToNumeric()
    except ImportError:
        cm = None
    folder = tempfile.mkdtemp()
    rows = []
    for fmt, ext in [("emmotl", ".em"), ("stopgap", ".star"), ("relion4", ".star"), ("relion5", ".star"),
                     ("dynamo", ".tbl"), ("table", ".csv")]:  # fmt: skip
        path = os.path.join(folder, fmt + ext)
        write = timed(lambda: write_particles(plist, path, format=fmt, overwrite=True))
        read = timed(lambda: read_particles(path, format=fmt, tomogram_shape=SHAPE))
        ref_write = ref_read = None
        if cm is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                motl = cm.Motl.load(os.path.join(folder, "emmotl.em"))
                if fmt == "emmotl":
                    ref_write = timed(lambda: cm.EmMotl(motl.df).write_out(path + ".cc.em"))
                    ref_read = timed(lambda: cm.Motl.load(path))
                elif fmt == "dynamo":
                    ref_write = timed(lambda: cm.DynamoMotl(motl.df).write_out(path + ".cc.tbl"))
                    ref_read = timed(lambda: cm.Motl.load(path, motl_type="dynamo"))
                elif fmt == "stopgap":
                    ref_read = timed(lambda: cm.Motl.load(path, motl_type="stopgap"))
                elif fmt == "relion4":
                    ref_read = timed(lambda: cm.RelionMotl(path, binning=1.0))
        rows.append((fmt, write, ref_write, read, ref_read, os.path.getsize(path) / 1e6))

    def cell(ours: float, ref: float | None) -> str:
        return f"{ours:8.3f} {'':>9s} {'':>7s}" if ref is None else f"{ours:8.3f} {ref:9.3f} {ref / ours:6.1f}x"

    print(f"{n} particles (cryotm vs cryoCAT {'0.7' if cm else 'not installed'}; times in s, ratio = cryoCAT / cryotm)")
    print(f"{'format':9s} {'write':>8s} {'cryoCAT':>9s} {'ratio':>7s} {'read':>8s} {'cryoCAT':>9s} {'ratio':>7s} {'MB':>6s}")
    for fmt, write, ref_write, read, ref_read, size in rows:
        print(f"{fmt:9s} {cell(write, ref_write)} {cell(read, ref_read)} {size:6.1f}")


if __name__ == "__main__":
    main()
