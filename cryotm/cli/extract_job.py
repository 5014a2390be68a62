"""``cryotm extract-job``: extract particles from a peer's template-matching job, without conversion."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import CryotmError
from ._pipeline_args import add_pipeline_arguments, config_from_args, pipeline_for_jobs


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "extract-job",
        help="extract particles from a pytom-match-pick, STOPGAP or GAPSTOP job",
        description="Read a peer's job or parameter file - pytom-match-pick's <tomo_id>_job.json, STOPGAP's "
        "tm_param.star or GAPSTOP(TM)'s tm_params.star - find its scores map, angle map and angle list, and "
        "extract the particles with cryotm's pipeline. The index base and angle order of each program are "
        "applied, pytom-match-pick's search statistics (std, search space) feed the 'far' threshold, and the "
        "job's particle diameter and symmetry are used unless --diameter, --symmetry or the config give them. "
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
        metavar="CSV",
        help="pytom-match-pick only: the angle list, when the job's cannot be found (a .txt is read as pytom's "
        "radians, anything else as a CSV of zxz degrees)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..peers import read_jobs

    jobs = read_jobs(args.job, angle_list=args.angle_list)
    pipeline = pipeline_for_jobs(args, config_from_args(args), jobs)
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
