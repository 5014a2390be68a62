"""``cryotm batch``: one pipeline over many tomograms (a table, a glob pattern or peers' job files)."""

from __future__ import annotations

import argparse
import sys

from ..errors import CryotmError
from ._options import add_angle_convention_arguments
from ._pipeline_args import add_pipeline_arguments, config_from_args, pipeline_for_jobs
from ._template_size import add_template_size_argument, template_shape_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="extract particles from many tomograms (resumable; local workers or a Dask cluster)",
        description="Run the extraction pipeline on every tomogram of INPUT and write one particle list per "
        "tomogram, a record of each run (<output>.cryotm.json), and a merged list into OUTDIR. INPUT is a table "
        "(CSV/TSV/STAR with columns name, scores, angles, angle_list, and optionally mask, pixel_size, tomo_id, "
        "angles_order, index_base, job), a glob pattern in quotes matching scores maps (the angle map is the "
        "same name with 'scores' replaced by 'angles'), peers' job files (pytom-match-pick *_job.json, "
        "STOPGAP/GAPSTOP parameter stars, pyTME .pickle/.pickle.gz/.hdf5 results, whose particle diameter and symmetry are used unless --diameter, "
        "--symmetry or the config give them, as extract-job does), or a folder holding peers' job files and "
        "results. Running again skips tomograms whose "
        "outputs are complete and were made by the same pipeline from the same inputs, and redoes the "
        "rest. A failed tomogram does "
        "not stop the others; the exit status is 1 if any failed.",
    )
    parser.add_argument(
        "input",
        metavar="INPUT",
        help="tomogram table, glob pattern, a peer's job file or result, a folder of them, or a plugin's source "
        "(copick://...)",
    )
    parser.add_argument("-o", "--output-dir", required=True, metavar="OUTDIR", help="folder for the outputs")
    add_pipeline_arguments(parser)
    inputs = parser.add_argument_group("inputs (defaults for rows that do not say)")
    inputs.add_argument("--angle-list", metavar="CSV", help="angle list for every tomogram without its own")
    add_angle_convention_arguments(inputs, defaults=False)
    inputs.add_argument("--pixel-size", type=float, metavar="A", help="pixel size in Å (overrides the map headers)")
    add_template_size_argument(inputs)
    run = parser.add_argument_group("running")
    run.add_argument("--workers", type=int, default=1, metavar="N", help="local worker processes (default 1)")
    run.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the Dask distributed cluster at ADDRESS (tcp://host:8786) instead; needs dask[distributed]",
    )
    run.add_argument("--no-resume", action="store_true", help="redo every tomogram, even complete ones")
    run.add_argument("--merged", default="merged", metavar="NAME", help="base name of the merged list (default merged)")
    run.add_argument("--no-merged", action="store_true", help="do not write a merged list")
    run.add_argument(
        "--progress",
        choices=("auto", "bar", "lines", "off"),
        default="auto",
        help="progress on stderr: a bar on a terminal, one line per tomogram otherwise (default auto)",
    )
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    from ..batch import Progress, read_tasks, run_batch
    from ..pipeline import input_defaults

    config = config_from_args(args)
    defaults = input_defaults(config)
    for key in ("angles_order", "index_base", "pixel_size"):
        if getattr(args, key) is not None:
            defaults[key] = getattr(args, key)
    found = read_tasks(
        args.input, angle_list=args.angle_list, defaults=defaults, template_shape=template_shape_from_args(args)
    )
    tasks = found.tasks
    pipeline = pipeline_for_jobs(args, config, found.jobs)
    if args.workers < 1:
        raise CryotmError(f"--workers must be at least 1, got {args.workers}")
    _check_outputs(args, pipeline, tasks)
    print(f"{len(tasks)} tomograms -> {args.output_dir}/ ({_where(args)})", file=sys.stderr)
    summary = run_batch(
        pipeline,
        tasks,
        args.output_dir,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=not args.no_resume,
        merged=None if args.no_merged else args.merged,
        progress=Progress(len(tasks), mode=args.progress),
    )
    print(summary.format())
    return 0 if summary.ok else 1


def _check_outputs(args: argparse.Namespace, pipeline, tasks) -> None:
    """Output names and folder, checked before anything is said or done (run_batch checks them again)."""
    from .._atomic import check_file_name, make_output_folder

    for task in tasks:
        pipeline.output_name(task.name)
    if not args.no_merged:
        check_file_name(args.merged, "merged list name (--merged)")
    make_output_folder(args.output_dir)


def _where(args: argparse.Namespace) -> str:
    if args.scheduler:
        return f"Dask cluster at {args.scheduler}"
    return "this process" if args.workers == 1 else f"{args.workers} worker processes"
