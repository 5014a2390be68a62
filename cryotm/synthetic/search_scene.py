"""Realistic template-matching results: a simulated tomogram searched with a real masked NCC.

:func:`make_search_scene` plants copies of an asymmetric template (at
continuous random rotations and sub-voxel positions, with varied amplitude)
in spatially correlated noise, optionally with membranes (bilayer slabs),
gold beads (small, very dense balls) and a missing wedge, and searches the
volume with :func:`~cryotm.synthetic.search.masked_ncc_search` over a
near-uniform angle list. Unlike :func:`~cryotm.synthetic.make_scene`, whose
peaks are painted Gaussians, every voxel of its scores map is the maximum over
all rotations of a real correlation: neighbouring voxels and rotations are
correlated, the angle map changes from voxel to voxel, and wrong rotations
score high next to each particle, as in GAPSTOP, STOPGAP or pytom-match-pick
output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import attrs
import numpy as np
import scipy.fft
from scipy import ndimage
from scipy.spatial.transform import Rotation

from ..angles import AngleList
from ..errors import CryotmError
from ..particles import ParticleList
from ..thresholds import SearchStatistics
from .rotations import uniform_angle_list
from .scene import SyntheticScene, _place_centres
from .search import masked_ncc_search
from .templates import builtin_template, load_template, rotate_volume, spherical_mask

__all__ = ["SearchScene", "make_search_scene"]


@attrs.define(eq=False)
class SearchScene(SyntheticScene):
    """A simulated search: the maps a template-matching program writes, its statistics and the truth.

    Besides the attributes of :class:`~cryotm.synthetic.SyntheticScene`
    (``scores``, ``angle_map``, ``angles``, ``truth``, ``pixel_size``,
    ``noise_std``: here the search statistics' ``std``):

    Attributes
    ----------
    statistics : SearchStatistics
        ``mean`` and ``std`` of the scores over every voxel and rotation,
        ``n_angles`` and ``n_voxels`` (pytom-match-pick's ``job_stats``).
    particle_diameter : float
        Diameter of the template's density, voxels (a good picking diameter).
    template : ndarray
        The template searched with.
    tomogram : ndarray or None
        The simulated volume (kept unless ``keep_tomogram=False``).
    gold : ndarray, shape (G, 3)
        0-based x, y, z of the gold beads (not particles: distractors).
    membranes : list of dict
        Each membrane's unit ``normal`` (x, y, z) and ``point`` on its mid-plane.

    Notes
    -----
    The truth's columns: ``x, y, z`` (0-based, sub-voxel), the planted
    rotation (``phi, theta, psi``), ``score`` (the scores map at the nearest
    voxel), ``angle_row`` (the angle-list row nearest the planted rotation),
    ``angle_error`` (degrees between the two), ``snr`` (the requested peak
    score in standard deviations of the noise search) and ``amplitude``.
    """

    statistics: SearchStatistics = attrs.field(factory=SearchStatistics)
    particle_diameter: float = 0.0
    template: np.ndarray | None = None
    tomogram: np.ndarray | None = None
    gold: np.ndarray = attrs.field(factory=lambda: np.zeros((0, 3)))
    membranes: list = attrs.field(factory=list)

    def write(
        self,
        directory: str | os.PathLike,
        angles_order: str = "zxz",
        overwrite: bool = False,
    ) -> dict[str, Path]:
        """Write the files of :meth:`SyntheticScene.write`, ``statistics.json`` and ``distractors.json``.

        ``statistics.json`` holds ``mean``, ``std``, ``variance``, ``n_angles``,
        ``n_voxels``, ``search_space`` and ``particle_diameter`` (voxels).
        ``distractors.json`` holds what is planted but is not a particle:
        ``gold`` (0-based x, y, z of each bead) and ``membranes`` (each one's
        unit ``normal`` and a ``point`` on its mid-plane, x, y, z), so that a
        false pick can be traced to its cause.
        """
        from .._atomic import atomic_path, check_writable

        Path(directory).mkdir(parents=True, exist_ok=True)
        path = Path(directory) / "statistics.json"
        distractors_path = Path(directory) / "distractors.json"
        check_writable(path, overwrite)
        check_writable(distractors_path, overwrite)
        paths = super().write(directory, angles_order=angles_order, overwrite=overwrite)
        stats = self.statistics
        record = {
            "mean": stats.mean,
            "std": stats.std,
            "variance": None if stats.std is None else stats.std**2,
            "n_angles": stats.n_angles,
            "n_voxels": stats.n_voxels,
            "search_space": None if stats.n_angles is None else int(stats.n_angles) * int(stats.n_voxels),
            "particle_diameter": self.particle_diameter,
        }
        with atomic_path(path, overwrite=overwrite) as tmp:
            Path(tmp).write_text(json.dumps(record, indent=2) + "\n")
        paths["statistics"] = path
        distractors = {"gold": np.asarray(self.gold, dtype=float).reshape(-1, 3).tolist(), "membranes": self.membranes}
        with atomic_path(distractors_path, overwrite=overwrite) as tmp:
            Path(tmp).write_text(json.dumps(distractors, indent=2) + "\n")
        paths["distractors"] = distractors_path
        return paths


def _template_array(template: str | os.PathLike | np.ndarray, size: int) -> np.ndarray:
    if isinstance(template, np.ndarray):
        array = np.asarray(template, dtype=np.float32)
        if array.ndim != 3 or len(set(array.shape)) != 1:
            raise CryotmError(f"a template must be a cubic 3D array, got shape {array.shape}")
        return array / np.float32(array.max())
    text = os.fspath(template)
    if Path(text).suffix.lower() in (".mrc", ".rec", ".map", ".em") or Path(text).is_file():
        return load_template(text)
    return builtin_template(text, size=size)


def _diameter(template: np.ndarray) -> float:
    """Twice the largest distance from the centre of a voxel above 10 % of the maximum."""
    centre = np.array(template.shape) // 2
    points = np.argwhere(template > 0.1 * template.max())
    return float(2 * np.sqrt(np.max(np.sum((points - centre) ** 2, axis=1))) + 1)


def wedge_mask(shape: tuple[int, int, int], tilt_range: float) -> np.ndarray:
    """The rfftn-shaped Fourier mask of a single-axis tilt series (tilt axis y, +- `tilt_range` degrees)."""
    kz = scipy.fft.fftfreq(shape[0])[:, None, None]
    kx = scipy.fft.rfftfreq(shape[2])[None, None, :]
    keep = np.abs(kz) <= np.abs(kx) * np.tan(np.radians(90.0 - tilt_range)) ** -1
    keep = keep | ((kz == 0) & (kx == 0))
    return np.broadcast_to(keep, (shape[0], shape[1], shape[2] // 2 + 1))


def _filtered(volume: np.ndarray, fourier_mask: np.ndarray) -> np.ndarray:
    """`volume` multiplied by an rfftn-shaped Fourier mask, float32."""
    return scipy.fft.irfftn(scipy.fft.rfftn(volume) * fourier_mask, s=volume.shape).astype(np.float32)


def _membrane(shape: tuple[int, int, int], normal: np.ndarray, point: np.ndarray, spacing: float) -> np.ndarray:
    """Two Gaussian leaflets `spacing` voxels apart about the plane through `point` (x, y, z)."""
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    distance = (x - point[0]) * normal[0] + (y - point[1]) * normal[1] + (z - point[2]) * normal[2]
    half = spacing / 2.0
    return (np.exp(-((distance - half) ** 2) / 2.0) + np.exp(-((distance + half) ** 2) / 2.0)).astype(np.float32)


def _add_box(volume: np.ndarray, box: np.ndarray, centre_zyx: np.ndarray) -> None:
    """Add `box` into `volume` with its centre voxel (``size // 2``) at integer `centre_zyx` (clipped)."""
    half = np.array(box.shape) // 2
    lo = centre_zyx - half
    hi = lo + np.array(box.shape)
    src_lo = np.maximum(-lo, 0)
    dst_lo = np.maximum(lo, 0)
    dst_hi = np.minimum(hi, volume.shape)
    src_hi = src_lo + (dst_hi - dst_lo)
    volume[dst_lo[0] : dst_hi[0], dst_lo[1] : dst_hi[1], dst_lo[2] : dst_hi[2]] += box[
        src_lo[0] : src_hi[0], src_lo[1] : src_hi[1], src_lo[2] : src_hi[2]
    ]


def _nearest_rows(planted: Rotation, angles: AngleList) -> tuple[np.ndarray, np.ndarray]:
    """For each planted rotation, the nearest angle-list row and the angle to it (degrees)."""
    listed = angles.rotations()
    rows = np.empty(len(planted), dtype=np.int64)
    errors = np.empty(len(planted))
    for i in range(len(planted)):
        distances = (listed.inv() * planted[i]).magnitude()
        rows[i] = int(np.argmin(distances))
        errors[i] = float(np.degrees(distances[rows[i]]))
    return rows, errors


def _amplitudes(
    copies: list[np.ndarray],
    scores: np.ndarray,
    noise: float,
    reference: np.ndarray,
    mask: np.ndarray,
    planted: Rotation,
    listed: Rotation,
    tilt_range: float | None,
) -> np.ndarray:
    """The amplitude that gives each particle its intended peak score in noise of std `noise`.

    A particle of amplitude ``a`` whose density varies by ``q`` (std under the
    mask) and matches the best listed rotation with correlation ``c`` (the
    noiseless score: below 1 by the rotation's mismatch, the sub-voxel offset
    and the wedge) scores about ``a c q / sqrt(noise^2 + a^2 q^2)``; this is
    solved for ``a``. ``c`` and ``q`` are measured on the particle alone, for
    its four nearest listed rotations and the 27 voxels around its centre.
    """
    if not copies:
        return np.zeros(0)
    size = reference.shape[0]
    amplitudes = np.empty(len(copies))
    inside = mask > 0
    n = float(inside.sum())
    box = (2 * size + 3,) * 3
    wedge = wedge_mask(box, tilt_range) if tilt_range is not None else None
    for i, copy in enumerate(copies):
        alone = np.zeros(box, dtype=np.float32)
        middle = np.array(box) // 2
        _add_box(alone, copy, middle)
        if wedge is not None:
            alone = _filtered(alone, wedge)
        near = np.argsort((listed.inv() * planted[i]).magnitude())[:4]
        best, spread = 0.0, 1.0
        for row in near:
            rotated = rotate_volume(reference, listed[row])
            values = rotated[inside] - rotated[inside].mean()
            values /= values.std()
            for offset in np.ndindex(3, 3, 3):
                lo = middle - size // 2 + np.array(offset) - 1
                patch = alone[lo[0] : lo[0] + size, lo[1] : lo[1] + size, lo[2] : lo[2] + size][inside]
                q = float(patch.std())
                c = float(np.dot(patch - patch.mean(), values)) / (n * q) if q > 0 else 0.0
                if c > best:
                    best, spread = c, q
        z = min(float(scores[i]), 0.95 * best)
        amplitudes[i] = z * noise / (spread * np.sqrt(best * best - z * z))
    return amplitudes


def make_search_scene(
    shape: tuple[int, int, int] = (96, 96, 96),
    n_particles: int = 30,
    n_angles: int = 1000,
    seed: int = 0,
    template: str | os.PathLike | np.ndarray = "blobs",
    snr: tuple[float, float] | None = (5.0, 9.0),
    membranes: int = 0,
    gold: int = 0,
    tilt_range: float | None = None,
    noise_correlation: float = 1.0,
    min_distance: float | None = None,
    subvoxel: bool = True,
    on_grid: bool = False,
    angles: AngleList | None = None,
    template_size: int = 24,
    membrane_contrast: float = 3.0,
    gold_contrast: float = 20.0,
    gold_radius: float = 2.5,
    index_base: int = 0,
    pixel_size: float = 10.0,
    workers: int | None = None,
    keep_tomogram: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> SearchScene:
    """Simulate a tomogram and search it with a masked normalised cross-correlation.

    Parameters
    ----------
    shape : tuple of int
        ``(nz, ny, nx)`` of the tomogram and maps.
    n_particles : int
        Copies of the template planted (0: a noise-only search).
    n_angles : int
        Length of the near-uniform angle list searched
        (:func:`~cryotm.synthetic.rotations.uniform_angle_list`); ignored when
        `angles` is given.
    seed : int
        Seed of every random choice: the same seed gives the same scene.
    template : str, path or ndarray
        A built-in shape (``"blobs"``: four blobs of different sizes;
        ``"hook"``: an L-shaped rod with a knob), a template map (MRC/EM,
        cubic, positive density) or a cubic array.
    snr : (float, float) or None
        Range (uniform) of each particle's intended peak score, in standard
        deviations of the search without particles (noise, membranes, beads:
        nearly the search statistics' ``std``). The score a particle
        actually gets is lower by the mismatch of the nearest listed rotation
        and the sub-voxel offset (see the truth's ``score``). None: no noise
        (a noiseless search, every particle of amplitude 1).
    membranes : int
        Planar lipid bilayers (two leaflets 4 voxels apart) at random
        orientations through the volume.
    gold : int
        Gold beads (balls of `gold_radius` voxels and density
        `gold_contrast`), placed like particles but not in the truth.
    tilt_range : float, optional
        Simulate a missing wedge: a tilt series of +- `tilt_range` degrees
        about the y axis (e.g. 60). Default: no wedge.
    noise_correlation : float
        Sigma (voxels) of the Gaussian that correlates the noise.
    min_distance : float, optional
        Minimum distance between particles and beads (default: the
        template's diameter).
    subvoxel : bool
        Plant particles at continuous positions (True) or on voxel centres.
    on_grid : bool
        Plant each particle at a rotation of the angle list (random rows)
        instead of a continuous random rotation, and on a voxel centre: a
        noiseless search then finds every particle with score 1 at its voxel
        and row.
    angles : AngleList, optional
        The angle list to search (instead of a generated one).
    template_size : int
        Box of the built-in templates, voxels.
    membrane_contrast, gold_contrast : float
        Peak density of a membrane's leaflets and of a bead, in standard
        deviations of the noise. A particle's peak density (the truth's
        ``amplitude``) is what its intended score needs: 4-32 on the 96^3
        benchmark scenes with the 24-voxel built-in templates. The default
        beads are therefore about as dense as the particles; gold is many
        times denser than protein, so realistic beads need about 200
        (``benchmarks/quality_gold.py``).
    gold_radius : float
        Radius of the beads in voxels.
    index_base : {0, 1}
        Angle-map value of the list's first row.
    pixel_size : float
        Voxel size in Å written into the maps.
    workers : int, optional
        FFT threads (default: up to 2).
    keep_tomogram : bool
        Keep the simulated volume in the scene (``scene.tomogram``).
    progress : callable, optional
        ``progress(done, total)`` after each rotation of the search.

    Returns
    -------
    SearchScene

    Examples
    --------
    >>> scene = make_search_scene(shape=(48, 48, 48), n_particles=3, n_angles=60, seed=1)
    >>> scene.scores.shape, len(scene.truth), scene.statistics.n_angles
    ((48, 48, 48), 3, 60)
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3:
        raise CryotmError(f"shape must have 3 sizes (z, y, x), got {shape}")
    rng = np.random.default_rng(seed)
    reference = _template_array(template, template_size)
    size = reference.shape[0]
    mask = spherical_mask(size)
    diameter = _diameter(reference)
    angles = uniform_angle_list(n_angles, index_base=index_base) if angles is None else angles
    listed = angles.rotations()

    # noise: unit variance after smoothing (None: noiseless)
    noisy = snr is not None
    wedge = wedge_mask(shape, tilt_range) if tilt_range is not None else None
    noise = rng.standard_normal(shape, dtype=np.float32) if noisy else np.zeros(shape, dtype=np.float32)
    if noisy and noise_correlation > 0:
        ndimage.gaussian_filter(noise, noise_correlation, output=noise, mode="wrap", truncate=3.0)
    if noisy:
        noise /= np.float32(noise.std())

    # where: particles and beads apart from each other and from the border
    n_total = int(n_particles) + int(gold)
    distance = float(diameter if min_distance is None else min_distance)
    margin = size // 2 + 1
    try:
        centres = (
            _place_centres(rng, shape, n_total, distance, margin) if n_total else np.zeros((0, 3), dtype=np.int64)
        )
    except ValueError:
        raise CryotmError(
            f"cannot place {n_total} particles and beads {distance:.1f} voxels apart and {margin} from the border "
            f"in a volume of shape {shape}: use a larger shape, fewer particles or a smaller min_distance"
        ) from None
    order = rng.permutation(n_total)
    particle_centres, gold_centres = centres[order[:n_particles]], centres[order[n_particles:]]

    # distractors, in units of the noise's standard deviation (of 1 when noiseless)
    distractors = np.zeros(shape, dtype=np.float32)
    if len(gold_centres):
        box = int(2 * np.ceil(gold_radius + 2) + 1)
        grid = np.indices((box,) * 3) - box // 2
        ball = 1.0 / (1.0 + np.exp((np.sqrt(np.sum(grid**2, axis=0)) - gold_radius) / 0.5))
        for centre in gold_centres:
            _add_box(distractors, (gold_contrast * ball).astype(np.float32), centre)
    membrane_records = []
    for _ in range(int(membranes)):
        normal = rng.standard_normal(3)
        normal /= np.linalg.norm(normal)
        point = rng.uniform(0.25, 0.75, size=3) * np.array(shape[::-1])
        distractors += np.float32(membrane_contrast) * _membrane(shape, normal, point, 4.0)
        membrane_records.append({"normal": normal.tolist(), "point": point.tolist()})
    if wedge is not None:
        noise = _filtered(noise, wedge)
        distractors = _filtered(distractors, wedge)
    noise_level = float(noise.std())
    background = noise + distractors
    del noise, distractors

    # the particles
    if subvoxel and not on_grid:
        shifts = rng.uniform(-0.5, 0.5, size=(n_particles, 3))
    else:
        shifts = np.zeros((n_particles, 3))
    if on_grid:
        planted = listed[rng.integers(0, len(angles), size=n_particles)] if n_particles else None
    else:
        planted = Rotation.random(n_particles, random_state=rng) if n_particles else None
    copies = [rotate_volume(reference, planted[i], shifts[i]) for i in range(n_particles)]
    if noisy:
        # the standard deviation of the search without particles, from a few rotations
        pilot = rng.choice(len(angles), size=min(8, len(angles)), replace=False)
        background_std = masked_ncc_search(background, reference, listed[pilot], mask=mask, workers=workers).std
        targets = rng.uniform(snr[0], snr[1], size=n_particles)
        amplitudes = _amplitudes(
            copies, targets * background_std, noise_level, reference, mask, planted, listed, tilt_range
        )
    else:
        targets = np.full(n_particles, np.nan)
        amplitudes = np.ones(n_particles)
    signal = np.zeros(shape, dtype=np.float32)
    for i in range(n_particles):
        _add_box(signal, np.float32(amplitudes[i]) * copies[i], particle_centres[i])
    if wedge is not None and n_particles:
        signal = _filtered(signal, wedge)
    tomogram = signal + background
    del signal, background

    result = masked_ncc_search(tomogram, reference, listed, mask=mask, workers=workers, progress=progress)
    statistics = SearchStatistics(
        n_angles=result.n_angles, n_voxels=result.n_voxels, mean=result.mean, std=result.std
    )

    positions_zyx = particle_centres + shifts
    if n_particles:
        rows, errors = _nearest_rows(planted, angles)
        orientations = planted.as_euler("zxz", degrees=True)
    else:
        rows, errors, orientations = np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 3))
    voxel = particle_centres.reshape(-1, 3)
    truth = ParticleList.from_arrays(
        positions_zyx.reshape(-1, 3)[:, ::-1],
        orientations=orientations,
        scores=result.scores[voxel[:, 0], voxel[:, 1], voxel[:, 2]].astype(np.float64),
        pixel_size=pixel_size,
        tomogram_shape=shape,
    )
    truth.data["angle_row"] = rows
    truth.data["angle_error"] = errors
    truth.data["snr"] = targets
    truth.data["amplitude"] = amplitudes
    return SearchScene(
        scores=result.scores,
        angle_map=(result.angle_rows + index_base).astype(np.float32),
        angles=angles,
        truth=truth,
        pixel_size=pixel_size,
        noise_std=result.std,
        statistics=statistics,
        particle_diameter=diameter,
        template=reference,
        tomogram=tomogram if keep_tomogram else None,
        gold=gold_centres[:, ::-1].astype(np.float64).reshape(-1, 3),
        membranes=membrane_records,
    )
