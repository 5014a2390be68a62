"""The angle list of a template-matching run: Euler angles indexed by the angle map."""

from __future__ import annotations

import csv
import io
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs
import numpy as np

from .._lazy import lazy_module
from ..errors import InputError, format_source

if TYPE_CHECKING:
    from scipy.spatial.transform import Rotation

pd = lazy_module("pandas")  # only for angle lists other than plain comma-separated numbers

__all__ = ["AngleList", "ANGLE_ORDERS", "euler_to_rotation", "rotation_to_euler"]

#: Column order of an angle list file -> positions of (phi, theta, psi) in it.
ANGLE_ORDERS: dict[str, tuple[int, int, int]] = {"zxz": (0, 1, 2), "zzx": (0, 2, 1)}

AngleOrder = Literal["zxz", "zzx"]


def euler_to_rotation(angles: Any) -> Rotation:
    """Rotations from (phi, theta, psi) in degrees, extrinsic ``zxz``.

    This is the cryoCAT/STOPGAP/TOM convention: the rotation turns the
    reference into its orientation in the tomogram.

    Examples
    --------
    >>> r = euler_to_rotation([90, 0, 0])
    >>> np.round(r.apply([1, 0, 0]), 6)
    array([0., 1., 0.])
    """
    from scipy.spatial.transform import Rotation  # scipy.spatial: only where rotations are made

    return Rotation.from_euler("zxz", np.asarray(angles, dtype=float), degrees=True)


def rotation_to_euler(rotation: Rotation) -> np.ndarray:
    """(phi, theta, psi) in degrees (extrinsic ``zxz``) of `rotation`; theta in [0, 180]."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # gimbal lock: scipy sets psi to 0
        return rotation.as_euler("zxz", degrees=True)


def _check_order(order: str) -> tuple[int, int, int]:
    try:
        return ANGLE_ORDERS[order]
    except KeyError:
        raise InputError(f"unknown angles order {order!r} (known: zxz, zzx)") from None


def _plain_csv(content: bytes) -> np.ndarray | None:
    """The (N, 3) values of a plain comma-separated ASCII file of numbers, else None.

    The common case, read without pandas. The file counts as plain when
    pandas would take ``,`` as its separator (the same sniffing of the first
    line as ``pandas.read_csv(sep=None)``) and every non-blank line holds
    three numbers; then the values are those pandas reads. Anything else
    (other separators, quotes, blank fields, a header) returns None and is
    read by :func:`_read_with_pandas`, with its messages.
    """
    if not content.isascii() or b"\r" in content.replace(b"\r\n", b""):
        return None
    text = content.decode("ascii")
    end = text.find("\n")
    try:
        delimiter = csv.Sniffer().sniff(text if end < 0 else text[: end + 1]).delimiter
    except csv.Error:
        return None
    if delimiter != ",":
        return None
    try:
        values = np.loadtxt(io.StringIO(text), delimiter=",", comments=None, ndmin=2, dtype=np.float64)
    except ValueError:
        return None
    return values if values.shape[1] == 3 else None


def _read_with_pandas(path: Path) -> np.ndarray:
    """``pandas.read_csv`` with a sniffed separator: any CSV dialect, and the messages for bad files."""
    try:
        table = pd.read_csv(path, header=None, sep=None, engine="python")
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read as a CSV angle list: {exc}", path) from None
    if table.shape[1] != 3:
        raise InputError(f"an angle list needs 3 columns, found {table.shape[1]}", path)
    try:
        return table.to_numpy(dtype=np.float64)
    except ValueError:
        raise InputError("an angle list must hold numbers only (no header line)", path) from None


@attrs.define(eq=False)
class AngleList:
    """Euler angles of a template-matching search, in degrees.

    The angles are kept as (phi, theta, psi), extrinsic ``zxz``, whatever the
    column order of the file they came from.

    Parameters
    ----------
    angles : ndarray, shape (N, 3)
        (phi, theta, psi) per row, degrees.
    index_base : int
        The angle-map value that means the first row: 0 for GAPSTOP(TM) and
        pytom-match-pick, 1 for STOPGAP (cryoCAT's ``angles_numbering``).
    source : str, optional
        The file the list came from, used in error messages.
    """

    angles: np.ndarray
    index_base: int = attrs.field(default=0, kw_only=True)
    source: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        angles = np.asarray(self.angles, dtype=np.float64)
        if angles.ndim != 2 or angles.shape[1] != 3:
            raise InputError(
                f"an angle list needs 3 columns (Euler angles), got shape {angles.shape}",
                self.source,
            )
        if len(angles) == 0:
            raise InputError("the angle list is empty", self.source)
        if not np.isfinite(angles).all():
            row = int(np.argwhere(~np.isfinite(angles))[0, 0])
            raise InputError(f"non-finite angle in row {row + 1}", self.source)
        if self.index_base not in (0, 1):
            raise InputError(f"index_base must be 0 or 1, got {self.index_base}", self.source)
        self.angles = angles

    @classmethod
    def read(
        cls, path: str | os.PathLike, order: AngleOrder = "zxz", index_base: int = 0
    ) -> AngleList:
        """Read a CSV angle list (three columns, degrees, no header).

        Parameters
        ----------
        path : str or path-like
            The CSV file.
        order : {'zxz', 'zzx'}
            Column order: ``zxz`` = phi, theta, psi; ``zzx`` = phi, psi, theta
            (as STOPGAP writes it). cryoCAT's ``angles_order``.
        index_base : {0, 1}
            See :class:`AngleList`.

        Raises
        ------
        InputError
            If the file is missing, not numeric, or has other than 3 columns.
        """
        positions = _check_order(order)
        path = Path(path)
        if not path.is_file():
            raise InputError("no such file", path)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", path) from None
        if not content.strip():
            raise InputError("the angle list is empty (no rows of three angles)", path)
        values = _plain_csv(content)
        if values is None:
            values = _read_with_pandas(path)
        return cls(values[:, list(positions)], index_base=index_base, source=os.fspath(path))

    @classmethod
    def from_array(cls, angles: Any, order: AngleOrder = "zxz", index_base: int = 0) -> AngleList:
        """Wrap an (N, 3) array whose columns are in `order` (copied)."""
        positions = _check_order(order)
        angles = np.array(angles, dtype=np.float64)
        if angles.ndim == 2 and angles.shape[1] == 3:
            angles = angles[:, list(positions)]
        return cls(angles, index_base=index_base)

    @classmethod
    def coerce(cls, value: Any, order: AngleOrder = "zxz", index_base: int | None = None) -> AngleList:
        """Return `value` as an AngleList: an AngleList, a CSV path, or an array.

        Parameters
        ----------
        value : AngleList, str, path-like or array_like
            The list, a CSV file (see :meth:`read`) or an (N, 3) array.
        order : {'zxz', 'zzx'}
            Column order of a file or an array.
        index_base : {0, 1}, optional
            The angle-map value of the first row. Default: an AngleList keeps
            its own, a file or an array gets 0.

        Examples
        --------
        >>> one_based = AngleList(np.zeros((2, 3)), index_base=1)
        >>> AngleList.coerce(one_based).index_base, AngleList.coerce(one_based, index_base=0).index_base
        (1, 0)
        """
        if isinstance(value, AngleList):
            if index_base is not None and value.index_base != index_base:
                return attrs.evolve(value, index_base=index_base)
            return value
        base = 0 if index_base is None else index_base
        if isinstance(value, (str, os.PathLike)):
            return cls.read(value, order=order, index_base=base)
        return cls.from_array(value, order=order, index_base=base)

    def __len__(self) -> int:
        return len(self.angles)

    def __repr__(self) -> str:
        return f"AngleList({len(self)} angles, index_base={self.index_base}, source={self.source!r})"

    @property
    def label(self) -> str:
        """Where the list came from, for messages."""
        return format_source(self.source)

    def rows_for(self, map_values: Any, source: str | None = None) -> np.ndarray:
        """Convert angle-map values to row numbers of this list (0-based).

        Raises
        ------
        InputError
            If a value points outside the list (naming the value and the list's
            valid range, which often reveals a wrong ``index_base``).
        """
        rows = np.asarray(map_values, dtype=np.int64) - self.index_base
        bad = (rows < 0) | (rows >= len(self))
        if bad.any():
            value = int(np.asarray(map_values).ravel()[np.argmax(bad.ravel())])
            lo, hi = self.index_base, len(self) - 1 + self.index_base
            raise InputError(
                f"angle index {value} is outside the angle list {self.label} "
                f"(valid {lo}..{hi} with index_base={self.index_base})",
                source,
            )
        return rows

    def rotations(self, rows: Any = None) -> Rotation:
        """Rotations of the given rows (0-based), or of every row.

        Each rotates the reference into its orientation in the tomogram
        (extrinsic ``zxz`` with (phi, theta, psi)).
        """
        angles = self.angles if rows is None else self.angles[np.asarray(rows)]
        return euler_to_rotation(angles)

    def write(self, path: str | os.PathLike, order: AngleOrder = "zxz", overwrite: bool = False) -> None:
        """Write the list as CSV (no header) with columns in `order`."""
        from .._atomic import atomic_path

        positions = _check_order(order)
        table = np.empty_like(self.angles)
        table[:, list(positions)] = self.angles
        with atomic_path(path, overwrite=overwrite) as tmp:
            np.savetxt(tmp, table, delimiter=",", fmt="%.10g")
