"""Join the particle lists of many tomograms into one (cryoCAT's ``merge_and_renumber``)."""

from __future__ import annotations

from collections.abc import Sequence

from ..particles import ParticleList
from ._names import ids_from_names

__all__ = ["merge_lists"]


def merge_lists(lists: Sequence[ParticleList]) -> ParticleList:
    """Join particle lists, renumbering ``subtomo_id`` 1..N and keeping each tomogram's name.

    Each particle keeps its tomogram name in a ``tomo_name`` column (the
    list's ``tomo_name`` column, else its ``experiment_id``, else its
    ``tomo_id`` as text). Tomogram ids are kept when they tell the names
    apart (one id per name and one name per id); otherwise, for example two
    lists that both call their tomogram 1, they are renumbered from the
    names (see :func:`~cryotm.formats._names.ids_from_names`). The pixel size
    is kept if all lists agree; the tomogram shape if all lists agree.

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
    named = []
    for plist in lists:
        data = plist.data.copy()
        data["tomo_name"] = [str(n) for n in plist.tomogram_names()]
        named.append(plist.with_data(data))
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
    return ParticleList(
        data,
        pixel_size=merged.pixel_size,
        experiment_id=experiment.pop() if len(experiment) == 1 else "",
        tomogram_shape=shapes.pop() if len(shapes) == 1 else None,
    )
