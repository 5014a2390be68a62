"""``cryotm extract-job``: extract particles from a peer's template-matching job, without conversion."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import CryotmError
from ._pipeline_args import add_pipeline_arguments, config_from_args, pipeline_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "extract-job",
        help="extract particles from a pytom-match-pick, STOPGAP or GAPSTOP job",
        description="Read a peer's job or parameter file - pytom-match-pick's <tomo_id>_job.json, STOPGAP's "
        "tm_param.star or GAPSTOP(TM)'s tm_params.star - find its scores map, angle map and angle list, and "
        "extract the particles with cryotm's pipeline. The index base and angle order of each program are "
        "applied, and pytom-match-pick's search statistics (std, search space) feed the 'far' threshold. "
        "A parameter file with several tomograms gives one output per tomogram (named after each).",
    )
    parser.add_argument("job", metavar="JOB", help="job or parameter file")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="output file (one tomogram) or folder (several tomograms)",
    )
    add_pipeline_arguments(parser)
    parser.add_argument(
        "--angle-list",
        metavar="FILE",
        help="pytom-match-pick only: the angle list, when the job's cannot be found (a .txt is read as pytom's "
        "radians, anything else as a CSV of zxz degrees)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..peers import read_jobs

    jobs = read_jobs(args.job, angle_list=args.angle_list)
    config = config_from_args(args)
    diameters = {job.particle_diameter for job in jobs if job.particle_diameter}
    fallback = diameters.pop() if len(diameters) == 1 else None
    if args.diameter is None and config.get("picker") is None and fallback is not None:
        print(f"particle diameter from the job file: {fallback:g} voxels", file=sys.stderr)
    pipeline = pipeline_from_args(args, config, diameter=fallback)
    output = Path(args.output)
    if len(jobs) > 1:
        output.mkdir(parents=True, exist_ok=True)
    for job in jobs:
        target = output / pipeline.output_name(job.inputs.name) if len(jobs) > 1 else output
        if target.exists() and not args.overwrite:
            raise CryotmError(f"{target}: output exists; pass --overwrite to replace it")
        result = pipeline.run(job.inputs, output=target, overwrite=args.overwrite)
        threshold = result.threshold
        print(
            f"{job.inputs.name} ({job.program}): {len(result.particles)} particles above {threshold.value:.6g} "
            f"({threshold.strategy}) -> {target}"
        )
    return 0
