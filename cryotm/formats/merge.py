"""Join the particle lists of many tomograms into one (cryoCAT's ``merge_and_renumber``)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._lazy import lazy_module
from ..errors import CryotmWarning
from ..particles import ParticleList
from ._names import ids_from_names

pd = lazy_module("pandas")

__all__ = ["merge_lists"]


def _common_pixel_size(lists: list[ParticleList], labels: list[str]) -> list[ParticleList]:
    """The lists with positions in voxels of one pixel size: the finest of them (with a warning).

    Lists of which some have a pixel size and others none are left as they
    are (the merged list has none), with a warning.
    """
    sizes = [p.pixel_size for p in lists]
    known = {s for s in sizes if s}
    if len(known) <= 1 and (not known or all(sizes) or not any(len(p) for p in lists)):
        return lists
    missing = [labels[i] for i, s in enumerate(sizes) if not s and "pixel_size" not in lists[i].data.columns]
    if missing:
        warnings.warn(
            f"{', '.join(missing)} has no pixel size, the other inputs {', '.join(f'{s:g}' for s in sorted(known))} "
            "Å: the merged list has none (give each input's pixel size to rescale them to a common one)",
            CryotmWarning,
            stacklevel=3,
        )
        return lists
    if len(known) <= 1:
        return lists
    if all(isinstance(p.optics, pd.DataFrame) for p in lists):  # RELION optics groups keep their own
        return [p.with_data(p.data.assign(pixel_size=p.pixel_sizes())) for p in lists]
    target = min(known)
    out = [plist.rescaled(target) if size and size != target else plist for plist, size in zip(lists, sizes)]
    rescaled = [f"{labels[i]} ({s:g} Å)" for i, s in enumerate(sizes) if s and s != target]
    warnings.warn(
        f"inputs have different pixel sizes: positions and shifts of {', '.join(rescaled)} rescaled to "
        f"{target:g} Å, the finest",
        CryotmWarning,
        stacklevel=3,
    )
    return out


def _unnamed(plist: ParticleList) -> bool:
    """True if the list names its tomograms only by their numeric ids."""
    return "tomo_name" not in plist.data.columns and not plist.experiment_id


def merge_lists(lists: Sequence[ParticleList], sources: Sequence[str | os.PathLike] | None = None) -> ParticleList:
    """Join particle lists, renumbering ``subtomo_id`` 1..N and keeping each tomogram's name.

    Each particle keeps its tomogram name in a ``tomo_name`` column (the
    list's ``tomo_name`` column, else its ``experiment_id``, else its
    ``tomo_id`` as text). Tomogram ids are kept when they tell the names
    apart (one id per name and one name per id); otherwise, for example two
    lists that both call their tomogram 1, they are renumbered from the
    names (see :func:`~cryotm.formats._names.ids_from_names`). The pixel size
    is kept if all lists agree; the tomogram shape if all lists agree.

    Lists that name their tomograms only by id (an EM motive list, say) and
    share an id with another input are taken for different tomograms (one
    list per tomogram is the usual case): each is named after its source
    file (`sources`, else ``list1``, ``list2``, ...), with a warning.

    Examples
    --------
    >>> a = ParticleList.from_arrays([[1, 2, 3], [4, 5, 6]], tomo_id=1, experiment_id="TS_01")
    >>> b = ParticleList.from_arrays([[7, 8, 9]], tomo_id=1, experiment_id="TS_02")
    >>> merged = merge_lists([a, b])
    >>> merged.data[["subtomo_id", "tomo_id", "tomo_name"]].values.tolist()
    [[1, 1, 'TS_01'], [2, 1, 'TS_01'], [3, 2, 'TS_02']]
    """
    lists = list(lists)
    if not lists:
        return ParticleList.empty()
    labels = [Path(s).stem for s in sources] if sources is not None else []
    if len(set(labels)) != len(lists):
        labels = [f"list{i}" for i in range(1, len(lists) + 1)]
    ids = [set(p.data["tomo_id"].tolist()) if _unnamed(p) else set() for p in lists]
    clash = [i for i, own in enumerate(ids) if own and any(own & other for j, other in enumerate(ids) if j != i)]
    shown = [Path(s).name for s in sources] if sources is not None and len(sources) == len(lists) else labels
    lists = _common_pixel_size(lists, shown)
    named = []
    for i, plist in enumerate(lists):
        data = plist.data.copy()
        names = [str(n) for n in plist.tomogram_names()]
        if i in clash:
            names = [labels[i] if len(ids[i]) == 1 else f"{labels[i]}_{n}" for n in names]
        data["tomo_name"] = names
        named.append(plist.with_data(data))
    if clash:
        shared = sorted(set.union(*(ids[i] for i in clash)))
        warnings.warn(
            f"{len(clash)} inputs ({', '.join(shown[i] for i in clash)}) name their tomograms only by the same "
            f"id(s) {', '.join(map(str, shared[:5]))}: kept apart as different tomograms named after their files "
            "(give each list its own tomogram id or name to merge them otherwise)",
            CryotmWarning,
            stacklevel=2,
        )
    merged = ParticleList.concat(named, renumber=True)
    data = merged.data
    pairs = set(zip(data["tomo_name"], data["tomo_id"]))
    names = {name for name, _ in pairs}
    ids = {tomo_id for _, tomo_id in pairs}
    if not (len(pairs) == len(names) == len(ids)):
        data = data.copy()
        data["tomo_id"] = ids_from_names(data["tomo_name"].tolist())
    shapes = {p.tomogram_shape for p in lists}
    experiment = {str(n) for n in data["tomo_name"]}
    optics, groups = _joined_optics(lists)
    if groups is not None:
        data = data.copy()
        data["rlnOpticsGroup"] = groups
    binnings = {p.binning for p in lists}
    blocks = lists[0].blocks if all(_same_blocks(p.blocks, lists[0].blocks) for p in lists) else {}
    return ParticleList(
        data,
        pixel_size=merged.pixel_size,
        experiment_id=experiment.pop() if len(experiment) == 1 else "",
        tomogram_shape=shapes.pop() if len(shapes) == 1 else None,
        binning=binnings.pop() if len(binnings) == 1 else None,
        optics=optics,
        blocks=dict(blocks),
    )


def _same_blocks(a: dict, b: dict) -> bool:
    if set(a) != set(b):
        return False
    for name in a:
        x, y = a[name], b[name]
        if isinstance(x, pd.DataFrame) and isinstance(y, pd.DataFrame):
            if not x.equals(y):
                return False
        elif x != y:
            return False
    return True


def _joined_optics(lists: list[ParticleList]) -> tuple[pd.DataFrame | None, np.ndarray | None]:
    """One optics table for RELION lists (identical groups shared, others renumbered) and each particle's group.

    (None, None) unless every list carries optics groups.
    """
    if not lists or not all(
        isinstance(p.optics, pd.DataFrame) and "rlnOpticsGroup" in p.optics.columns
        and "rlnOpticsGroup" in p.data.columns for p in lists
    ):
        return None, None
    rows: list[pd.Series] = []
    groups: list[np.ndarray] = []
    for plist in lists:
        mapping = {}
        for _, row in plist.optics.iterrows():
            content = row.drop("rlnOpticsGroup").astype(str).to_dict()
            found = next(
                (i for i, r in enumerate(rows) if r.drop("rlnOpticsGroup").astype(str).to_dict() == content), None
            )
            if found is None:
                rows.append(row.astype(object))
                found = len(rows) - 1
                rows[found]["rlnOpticsGroup"] = found + 1
            mapping[row["rlnOpticsGroup"]] = found + 1
        own = plist.data["rlnOpticsGroup"].to_numpy()
        groups.append(np.array([mapping.get(g, g) for g in own], dtype=object))
    optics = pd.DataFrame(rows).reset_index(drop=True)
    optics["rlnOpticsGroup"] = pd.to_numeric(optics["rlnOpticsGroup"]).astype(np.int64)
    return optics, np.concatenate(groups)
