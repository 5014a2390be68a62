"""Command-line options of the geometric pick filters (``extract``, ``select``, ``batch``, ``extract-job``).

``--alignment FILE`` names the tilt-series alignment; ``--min-visible-tilts``
/ ``--min-visible-fraction`` (with ``--visible-margin``) add the
:class:`~cryotm.geometry.filters.VisibleTilts` filter, ``--fiducials FILE``
(with ``--fiducial-radius``, ``--fiducial-min-tilts``, ``--fiducials-3d``,
``--fiducial-transform``) the :class:`~cryotm.geometry.filters.FiducialExclusion`
filter. The same filters are available in pipeline configs by name
(``visible_tilts``, ``fiducials``).
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import CryotmError

__all__ = ["add_alignment_arguments", "add_geometry_arguments", "geometry_filters", "apply_geometry_filters"]


def add_alignment_arguments(parser: argparse._ActionsContainer) -> None:
    """Options that say how to read a tilt-series alignment (``project`` and the filters)."""
    parser.add_argument("--alignment-format", metavar="F",
                        help="alignment format: relion5, imod, aretomo, warp or a plugin's (default: detected)")
    parser.add_argument("--tilt-image-shape", type=int, nargs=2, metavar=("NY", "NX"),
                        help="tilt-image size in pixels (default: what the alignment files state)")
    parser.add_argument("--alignment-pixel-size", type=float, metavar="A",
                        help="Å per tilt-image pixel, for formats that do not state it (IMOD, AreTomo, Warp)")
    parser.add_argument("--tomo-name", metavar="NAME",
                        help="the particles' tomogram (its tilt series in the alignment file), overriding the "
                        "names in the list")


def add_geometry_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the geometric filter options in their own group."""
    group = parser.add_argument_group("tilt-series geometry (pick filters; need --alignment)")
    group.add_argument("--alignment", metavar="FILE",
                       help="tilt-series alignment (RELION 5 star, IMOD .xf/.tlt/tilt.com, AreTomo .aln, Warp .xml)")
    add_alignment_arguments(group)
    group.add_argument("--min-visible-tilts", type=int, metavar="K",
                       help="keep particles inside the tilt image in at least K tilts")
    group.add_argument("--min-visible-fraction", type=float, metavar="F",
                       help="keep particles inside the tilt image in at least this fraction of the tilts")
    group.add_argument("--visible-margin", type=float, default=0.0, metavar="PX",
                       help="pixels from the tilt-image border that count as outside (default 0)")
    group.add_argument("--fiducials", metavar="FILE",
                       help="drop particles near fiducials: an IMOD fiducial model (.fid/.mod, 2D per tilt) or, "
                       "with --fiducials-3d, 3D bead positions (IMOD model or particle list)")
    group.add_argument("--fiducial-radius", type=float, default=10.0, metavar="PX",
                       help="distance in tilt-image pixels that counts as near (default 10)")
    group.add_argument("--fiducial-min-tilts", type=int, default=1, metavar="K",
                       help="drop a particle near a fiducial in at least K tilts (default 1)")
    group.add_argument("--fiducials-3d", action="store_true", help="--fiducials holds 3D bead positions")
    group.add_argument("--fiducial-transform", metavar="PREXG",
                       help="IMOD .prexg to undo on 2D fiducials tracked on the prealigned stack")


def geometry_filters(args: argparse.Namespace, pixel_size: float | None = None) -> list[Any]:
    """The geometric pick filters the options ask for (empty when none); `pixel_size` overrides the particles'."""
    from ..geometry.filters import FiducialExclusion, VisibleTilts

    visible = any(getattr(args, key, None) is not None for key in ("min_visible_tilts", "min_visible_fraction"))
    fiducials = getattr(args, "fiducials", None)
    if not visible and not fiducials:
        return []
    if not getattr(args, "alignment", None):
        raise CryotmError("--min-visible-tilts, --min-visible-fraction and --fiducials need --alignment FILE")
    common = {
        "alignment_format": args.alignment_format,
        "tomo_name": args.tomo_name,
        "pixel_size": pixel_size,
        "alignment_pixel_size": args.alignment_pixel_size,
        "tilt_image_shape": args.tilt_image_shape,
    }
    filters: list[Any] = []
    if visible:
        filters.append(VisibleTilts(args.alignment, min_tilts=args.min_visible_tilts,
                                    min_fraction=args.min_visible_fraction, margin=args.visible_margin, **common))
    if fiducials:
        filters.append(FiducialExclusion(args.alignment, fiducials=fiducials, radius=args.fiducial_radius,
                                         min_tilts=args.fiducial_min_tilts, fiducials_3d=args.fiducials_3d,
                                         fiducial_transform=args.fiducial_transform, **common))
    return filters


def apply_geometry_filters(args: argparse.Namespace, particles: Any, shape: tuple[int, int, int]) -> Any:
    """`particles` after the geometric filters of `args` (each says how many it dropped)."""
    from ..pipeline.filters import FilterContext

    for pick_filter in geometry_filters(args):
        before = len(particles)
        particles = pick_filter(particles, FilterContext(shape=tuple(shape)))
        print(f"{pick_filter.name}: kept {len(particles)} of {before} particles")
    return particles
