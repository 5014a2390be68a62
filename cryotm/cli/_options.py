"""Command-line options shared by the subcommands: one vocabulary for the same thing everywhere.

The flags that several subcommands take are defined here once (see
``docs/guide/command-line.rst``): ``-d/--diameter``, ``-t/--threshold``,
``-f/--format``, ``-n/--n-particles``, ``--symmetry cN``, ``--mask MAP``,
``--angles-order``, ``--index-base``. Older spellings stay accepted as hidden
aliases (``select --peak-number``).

Options that describe the data a particle list refers to are

shared by every command that reads or writes particle lists (``convert``,
``merge``, ``compare``, ``report``), so that they speak the same words:
``--pixel-size``, ``--tomogram-shape Z Y X`` / ``--tomogram-size X Y Z``,
``--binning``, ``--centre``, ``--tomograms STAR`` (and, for writers,
``--option KEY=VALUE``). RELION 5 lists cannot be read without the tomogram's
shape (or, for many tomograms, a RELION 5 tomograms star file giving each
one's), and their reader's error message names these options. Also the count of rotations searched
(``--n-angles`` / ``--angle-list``) that ``threshold`` and ``report`` give the
``far`` rule.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import CryotmError

__all__ = [
    "symmetry",
    "add_symmetry_argument",
    "add_diameter_argument",
    "add_threshold_argument",
    "add_format_argument",
    "add_n_particles_argument",
    "add_mask_argument",
    "add_angle_convention_arguments",
    "flags_in_messages",
    "add_angle_count_arguments",
    "angle_count",
    "add_data_arguments",
    "add_metadata_arguments",
    "tomogram_shape",
    "parse_options",
    "shared_options",
    "options_for",
    "read_list",
    "check_numbers",
]

#: Option destinations whose value must be a finite number > 0.
POSITIVE_NUMBERS: tuple[str, ...] = (
    "pixel_size", "diameter", "radius", "binning", "tolerance", "template_radius", "peak_tolerance", "job_std",
)
#: ... a finite number.
FINITE_NUMBERS: tuple[str, ...] = ("std_offset", "job_mean")
#: ... a count >= 0 (or >= 1 for the second set).
COUNTS: tuple[str, ...] = ("cluster_size", "min_peak_voxels", "min_angles_voxels", "n_particles")
POSITIVE_COUNTS: tuple[str, ...] = ("n_angles", "peak_number", "workers")
#: ... an identifier that every particle-list format can hold (int32, >= 0).
IDENTIFIERS: tuple[str, ...] = ("tomo_id", "object_id")
MAX_ID = 2**31 - 1


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def check_numbers(args: argparse.Namespace) -> None:
    """Validate every number option a command has, by its destination name, before any work.

    NaN, infinities, negative or zero sizes and identifiers too large for the
    particle-list formats are refused here, in one place for every command.

    Raises
    ------
    CryotmError
        Naming the option and the value.

    Examples
    --------
    >>> check_numbers(argparse.Namespace(pixel_size=float("nan")))
    Traceback (most recent call last):
    ...
    cryotm.errors.CryotmError: --pixel-size must be a positive number, got nan
    """
    import math

    def given(dest: str):
        value = getattr(args, dest, None)
        return None if value is None or isinstance(value, bool) else value

    for dest in POSITIVE_NUMBERS:
        value = given(dest)
        if isinstance(value, (int, float)) and not (math.isfinite(value) and value > 0):
            raise CryotmError(f"{_flag(dest)} must be a positive number, got {value}")
    for dest in FINITE_NUMBERS:
        value = given(dest)
        if isinstance(value, (int, float)) and not math.isfinite(value):
            raise CryotmError(f"{_flag(dest)} must be a finite number, got {value}")
    for dest in COUNTS + POSITIVE_COUNTS:
        value = given(dest)
        low = 1 if dest in POSITIVE_COUNTS else 0
        if isinstance(value, int) and value < low:
            raise CryotmError(f"{_flag(dest)} must be a whole number >= {low}, got {value}")
    for dest in IDENTIFIERS:
        value = given(dest)
        if isinstance(value, int) and not 0 <= value <= MAX_ID:
            raise CryotmError(f"{_flag(dest)} must be between 0 and {MAX_ID}, got {value}")
    for dest in ("tomogram_shape", "tomogram_size"):
        value = given(dest)
        if value is not None and (min(value) < 1 or max(value) > 2**20):
            raise CryotmError(f"{_flag(dest)} needs three sizes between 1 and {2**20} voxels, got {value}")


def symmetry(text: str) -> str:
    """``"3"``, ``"c3"``, ``"C3"`` -> ``"c3"``: a cyclic symmetry for argparse's ``type=``.

    Raises
    ------
    argparse.ArgumentTypeError
        For anything that is not a cyclic symmetry (argparse prints it as a usage error).

    Examples
    --------
    >>> symmetry("3"), symmetry("C6"), symmetry("c1")
    ('c3', 'c6', 'c1')
    """
    from ..angles.distances import parse_symmetry  # numpy: only when the option is given

    try:
        return f"c{parse_symmetry(text)}"
    except CryotmError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_symmetry_argument(parser: argparse._ActionsContainer, default: str | None = "c1", what: str = "") -> None:
    """``--symmetry cN`` (N or cN accepted; ``default`` None: the config's or the job file's)."""
    shown = f"default {default}" if default else "default: the job files', else c1"
    parser.add_argument("--symmetry", type=symmetry, default=default, metavar="cN",
                        help=f"cyclic symmetry C_N of the particle, as cN or N{what} ({shown})")


def add_diameter_argument(parser: argparse._ActionsContainer, required: bool = False, note: str = "") -> None:
    """``-d/--diameter D``: the particle diameter in voxels (the suppression radius)."""
    parser.add_argument("-d", "--diameter", type=float, required=required, metavar="D",
                        help=f"particle diameter in voxels (the suppression radius, as in cryoCAT){note}")


def add_threshold_argument(parser: argparse._ActionsContainer, default: str | None, note: str = "",
                           repeatable: bool = False) -> None:
    """``-t/--threshold NAME[:VALUE]``: a threshold strategy (``calibrated``, ``sigma:3``, a number, a plugin's)."""
    shown = f"default {default}" if default else "default calibrated"
    parser.add_argument("-t", "--threshold", default=default, metavar="NAME[:VALUE]",
                        action="append" if repeatable else "store",
                        help="threshold rule: calibrated[:N], far[:N], sigma:K, triangle, hard[:F], gauss, "
                        "manual:VALUE or a "
                        f"number, or a plugin's name ({shown}{note})")


def add_format_argument(parser: argparse._ActionsContainer, default: str | None = None, what: str = "OUT",
                        shown: str | None = None) -> None:
    """``-f/--format NAME``: the output format (default: from the extension of `what`, or as `shown` says)."""
    shown = shown or (f"default {default}" if default else f"default: from the extension of {what}")
    parser.add_argument("-f", "--format", default=default, metavar="NAME",
                        help=f"output format (relion5, relion4, relion31, relion30, stopgap, emmotl, dynamo, "
                        f"table or a plugin's; see 'cryotm plugins'; {shown})")


def add_n_particles_argument(parser: argparse._ActionsContainer, old: tuple[str, ...] = ()) -> None:
    """``-n/--n-particles N`` (at most N particles, the highest scores); `old` spellings stay hidden aliases."""
    parser.add_argument("-n", "--n-particles", type=int, metavar="N",
                        help="keep at most N particles (the highest scores)")
    for flag in old:
        parser.add_argument(flag, dest="n_particles", type=int, help=argparse.SUPPRESS)


def add_mask_argument(parser: argparse._ActionsContainer, note: str = "") -> None:
    """``--mask MAP``: the tomogram mask (nonzero voxels are searched)."""
    parser.add_argument("--mask", metavar="MAP", help=f"tomogram mask of the maps' shape (nonzero voxels "
                        f"are searched){note}")


def add_angle_convention_arguments(parser: argparse._ActionsContainer, defaults: bool = True) -> None:
    """``--angles-order zxz|zzx`` and ``--index-base 0|1`` (defaults zxz and 0, or None: the config's)."""
    parser.add_argument("--angles-order", choices=("zxz", "zzx"), default="zxz" if defaults else None,
                        help="column order of the angle list (STOPGAP writes zzx; default zxz)")
    parser.add_argument("--index-base", type=int, choices=(0, 1), default=0 if defaults else None,
                        help="angle-map value of the list's first row (STOPGAP 1, GAPSTOP and pytom 0; default 0)")


@contextlib.contextmanager
def flags_in_messages(**flags: str) -> Iterator[None]:
    """Re-raise a :class:`CryotmError` whose message names Python keywords with the command's flags instead.

    Wrap the call that turns a command's options into Python keywords;
    ``flags`` maps each keyword to its flag (``particle_diameter="--diameter"``).
    Only the message is changed, never the file it names.

    Examples
    --------
    >>> try:
    ...     with flags_in_messages(particle_diameter="--diameter"):
    ...         raise CryotmError("particle_diameter must be a positive number, got -1")
    ... except CryotmError as exc:
    ...     print(exc)
    --diameter must be a positive number, got -1
    """
    try:
        yield
    except CryotmError as exc:
        pattern = re.compile(r"(?<![\w./-])(" + "|".join(map(re.escape, flags)) + r")(?![\w/.])(=\S*)?")
        problem = pattern.sub(lambda match: flags[match.group(1)], exc.problem)
        if problem == exc.problem:
            raise
        try:
            renamed = type(exc)(problem, exc.source)
        except TypeError:  # a subclass with its own signature
            renamed = CryotmError(problem, exc.source)
        raise renamed from None


def add_data_arguments(parser: argparse._ActionsContainer, defaults_from: str | None = None) -> None:
    """Add the options that describe the data: pixel size, tomogram shape, binning, centre.

    Parameters
    ----------
    parser : argparse.ArgumentParser or argument group
        Where the options go.
    defaults_from : str, optional
        What the pixel size and the tomogram shape default to, for the help
        text (for example ``"the scores map"``).

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_data_arguments(parser)
    >>> tomogram_shape(parser.parse_args(["--tomogram-size", "64", "48", "32"]))
    (32, 48, 64)
    """
    default = f" (default: {defaults_from}'s)" if defaults_from else ""
    parser.add_argument("--pixel-size", type=float, metavar="A", help="voxel size in Å of the tomogram the "
                        f"positions refer to (needed by RELION 3.1/4/5 unless the file has it){default}")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--tomogram-shape", type=int, nargs=3, metavar=("Z", "Y", "X"),
                       help=f"tomogram size in voxels, z y x (needed by RELION 5){default}")
    shape.add_argument("--tomogram-size", type=int, nargs=3, metavar=("X", "Y", "Z"),
                       help="the same, given x y z")
    shape.add_argument("--tomograms", metavar="STAR", help="RELION 5 tomograms star file giving each "
                       "tomogram's shape by name (RELION 5 lists of tomograms of different sizes)")
    parser.add_argument("--binning", type=float, metavar="B",
                        help="binning of the tomogram relative to the tilt series (RELION 4/5)")
    parser.add_argument("--centre", choices=("relion", "pytom"),
                        help="RELION 5 tomogram centre: size/2 (relion, default) or size/2 - 1 (pytom)")


def add_angle_count_arguments(parser: argparse._ActionsContainer, note: str = "") -> None:
    """Add ``--n-angles N`` and ``--angle-list CSV``: the rotations searched, for the ``far`` threshold.

    `note` is appended to both help texts (for example ``"; scores map input"``).
    Read the count with :func:`angle_count`.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_angle_count_arguments(parser)
    >>> angle_count(parser.parse_args(["--n-angles", "500"]))
    500
    """
    parser.add_argument("--n-angles", type=int, metavar="N", help=f"rotations searched (needed by 'far'{note})")
    parser.add_argument("--angle-list", metavar="CSV", help=f"the search's angle list (gives --n-angles{note})")


def angle_count(args: argparse.Namespace) -> int | None:
    """``--n-angles``, else the length of ``--angle-list``, else None (see :func:`add_angle_count_arguments`)."""
    if args.n_angles is not None or not args.angle_list:
        return args.n_angles
    from ..angles import AngleList

    return len(AngleList.read(args.angle_list))


def add_metadata_arguments(parser: argparse.ArgumentParser) -> None:
    """:func:`add_data_arguments` plus ``--option KEY=VALUE`` for the output format (convert, merge)."""
    add_data_arguments(parser)
    parser.add_argument("--option", "-O", action="append", default=[], metavar="KEY=VALUE",
                        help="an option of the output format (e.g. score_label=rlnLCCmax); repeatable")


def tomogram_shape(args: argparse.Namespace) -> tuple[int, int, int] | None:
    """(nz, ny, nx) from --tomogram-shape or --tomogram-size (None when neither is given)."""
    if getattr(args, "tomogram_shape", None):
        shape = tuple(args.tomogram_shape)
    elif getattr(args, "tomogram_size", None):
        shape = tuple(reversed(args.tomogram_size))
    else:
        return None
    if min(shape) < 1:
        raise CryotmError(f"tomogram sizes must be positive, got {shape}")
    return shape  # type: ignore[return-value]


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``["key=value", ...]`` -> ``{"key": value}`` (numbers converted).

    Examples
    --------
    >>> parse_options(["binning=4", "score-label=rlnLCCmax"])
    {'binning': 4, 'score_label': 'rlnLCCmax'}
    """
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CryotmError(f"--option needs KEY=VALUE, got {pair!r}")
        options[key.strip().replace("-", "_")] = _value(value.strip())
    return options


def shared_options(
    args: argparse.Namespace, reader_classes: Sequence[type], writer_class: type | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split --binning/--centre/--tomograms between the reader(s) and the writer (each gets what it declares).

    Returns ``(read_options, write_options)``; the write options start from
    ``--option`` when the command has it.

    Raises
    ------
    CryotmError
        If no reader (nor the writer) uses a given option.
    """
    from ..formats import option_names

    classes = [*reader_classes, *([writer_class] if writer_class is not None else [])]
    given = {
        key: getattr(args, key) for key in ("binning", "centre", "tomograms") if getattr(args, key, None) is not None
    }
    read_options: dict[str, Any] = {}
    write_options = parse_options(getattr(args, "option", None) or [])
    for key, value in given.items():
        if not any(key in option_names(cls) for cls in classes):
            names = sorted({cls.name for cls in classes})
            raise CryotmError(f"--{key} is not used by the format(s) {', '.join(names)}")
        if any(key in option_names(cls) for cls in reader_classes):
            read_options[key] = value
        if writer_class is not None and key in option_names(writer_class):
            write_options[key] = value
    return read_options, write_options


def options_for(cls: type, options: dict[str, Any]) -> dict[str, Any]:
    """The subset of `options` that the reader/writer class `cls` declares."""
    from ..formats import option_names

    return {k: v for k, v in options.items() if k in option_names(cls)}


def read_list(
    path: str | os.PathLike,
    format: str | None,
    args: argparse.Namespace,
    *,
    reader_options: dict[str, Any] | None = None,
    pixel_size: float | None = None,
    shape: tuple[int, int, int] | None = None,
):
    """Read a particle list with the data options of `args` (see :func:`add_data_arguments`).

    Parameters
    ----------
    path, format
        The file and its format name (None: detected).
    args : argparse.Namespace
        Parsed options: ``--pixel-size``, ``--tomogram-shape``/``--tomogram-size``
        and, through `reader_options`, ``--binning``/``--centre``/``--tomograms``.
    reader_options : dict, optional
        From :func:`shared_options`; each is given if the reader declares it.
    pixel_size, shape : optional
        Defaults for ``--pixel-size`` and the tomogram shape ``(nz, ny, nx)``
        when the options do not give them (``report`` takes them from the
        scores map).
    """
    from ..formats import read_particles, reader_class

    cls = reader_class(path, format)
    given_pixel = getattr(args, "pixel_size", None)
    given_shape = tomogram_shape(args)
    from ..sanity import check_particles_inside

    particles = read_particles(
        path,
        cls.name,
        pixel_size=given_pixel if given_pixel is not None else pixel_size,
        tomogram_shape=given_shape if given_shape is not None else shape,
        **options_for(cls, reader_options or {}),
    )
    # a wrong shape order or pixel size shows here
    check_particles_inside(particles, path, given_shape if given_shape is not None else shape)
    return particles
