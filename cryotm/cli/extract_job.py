"""``cryotm extract-job``: extract particles from a peer's template-matching job, without conversion."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ._pipeline_args import add_pipeline_arguments, config_from_args, pipeline_for_jobs
from ._template_size import add_template_size_argument, template_shape_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "extract-job",
        help="extract particles from a pytom-match-pick, STOPGAP, GAPSTOP or pyTME job",
        description="Read a peer's job or parameter file - pytom-match-pick's <tomo_id>_job.json, STOPGAP's "
        "tm_param.star, GAPSTOP(TM)'s tm_params.star or pyTME's result (.pickle, .pickle.gz, .hdf5) - find its "
        "scores map, angle map and angle list (pytom-match-pick's list generated from an angular increment is "
        "regenerated; needs healpix), and "
        "extract the particles with cryotm's pipeline. The index base and angle order of each program are "
        "applied, pytom-match-pick's search statistics (std, search space) feed the 'far' threshold, and the "
        "job's particle diameter and symmetry are used unless --diameter, --symmetry or the config give them. "
        "A parameter file with several tomograms gives one output per tomogram (named after each).",
    )
    parser.add_argument("job", metavar="JOB", help="job or parameter file, or pyTME result")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="output file (one tomogram), or folder (several tomograms, or a path ending in '/' or an existing "
        "folder: each output is named after its tomogram)",
    )
    add_pipeline_arguments(parser)
    parser.add_argument(
        "--angle-list",
        metavar="CSV",
        help="pytom-match-pick only: the angle list to use instead of the job's own (a .txt is read as pytom's "
        "radians, anything else as a CSV of zxz degrees)",
    )
    add_template_size_argument(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..peers import read_jobs

    from .._atomic import check_writable, make_output_folder
    from ..batch.table import check_unique_names

    jobs = read_jobs(args.job, angle_list=args.angle_list, template_shape=template_shape_from_args(args))
    check_unique_names([job.inputs for job in jobs], args.job)
    pipeline = pipeline_for_jobs(args, config_from_args(args), jobs)
    output = Path(args.output)
    into_folder = len(jobs) > 1 or args.output.endswith(("/", os.sep)) or output.is_dir()
    if into_folder:
        output = make_output_folder(output)
    targets = [output / pipeline.output_name(job.inputs.name) if into_folder else output for job in jobs]
    for target in targets:  # every output is checked before the first tomogram is worked on
        check_writable(target, args.overwrite)
    for job, target in zip(jobs, targets):
        result = pipeline.run(job.inputs, output=target, overwrite=args.overwrite)
        threshold = result.threshold
        print(
            f"{job.inputs.name} ({job.program}): {len(result.particles)} particles above {threshold.value:.6g} "
            f"({threshold.strategy}) -> {target}"
        )
    return 0
