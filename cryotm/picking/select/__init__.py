"""Automatic, angle-consistent peak selection (cryoCAT's ``select_peaks``).

A true particle leaves a compact peak in the scores map whose voxels also
agree on the orientation. The selection keeps a peak only if both hold:

1. **threshold**: voxels with ``score >= threshold`` (cryoCAT's triangle rule
   by default; any rule is computed on the whole map), inside the tomogram
   mask and away from the edges (`edge_masking`);
2. **peak size**: face-connected regions of that mask smaller than
   `min_peak_voxel_count` are dropped;
3. **selection** (``placement="maximum"``, the default): the peak voxels,
   highest score first, are judged at their maximum: a voxel whose template
   mask (rotated to the voxel's orientation) or sphere of `template_radius`
   overlaps that of a peak already judged belongs to it; otherwise the peak
   is accepted if the mask around its maximum holds at least
   `min_peak_voxel_count` voxels of the peak region (26-connected) and the
   peak passes the angular test. The particle sits on the maximum with the
   maximum's angle: the angular test accepts or rejects a peak, it never
   moves it (see :mod:`~cryotm.picking.select.greedy`);
4. **angular test** (`angle_test`): ``"none"`` (default with
   ``placement="maximum"``: on realistic searches the rotations agree as
   often around false peaks as around particles); ``"neighbours"``: at
   least `min_agreeing_neighbours` of the
   maximum's 26 neighbours hold its rotation (within `angle_tolerance`,
   default half the list's step; :mod:`~cryotm.picking.select.agreement`);
   ``"footprint"``: enough above-threshold voxels in the mask do;
   ``"regions"``: cryoCAT's test - in each angular distance map (see
   :mod:`cryotm.angles.distance_maps`), voxels are grouped into
   face-connected regions of the same whole-degree distance (``floor`` of
   the distance, as cryoCAT's integer labelling does); regions smaller than
   `min_angles_voxel_count` are dropped, map after map
   (:func:`filter_distance_maps`, cryoCAT's ``filter_dist_maps``); each
   region is opened with a 2 x 2 x 2 cube; the size filter is applied
   again; the mask must hold `min_angles_voxel_count` such voxels.
   With ``placement="cryocat"`` (always the ``"regions"`` test), cryoCAT's
   rule: the remaining consistent voxels, highest score first, become
   particles if the mask centred on the voxel does not overlap an accepted
   particle and holds at least `min_peak_voxel_count` voxels of the voxel's
   peak region and at least `min_angles_voxel_count` voxels of its region
   in every distance map (both 26-connected inside the mask).

Differences from cryoCAT 0.7.1, each on purpose and pinned by a test:

- by default a particle sits on its peak's score maximum with that voxel's
  angle (``placement="maximum"``); cryoCAT places it on the best
  angle-consistent voxel, which on real maps lies 2-3 voxels off the maximum
  with a wrong angle (``placement="cryocat"`` keeps cryoCAT's rule);
- by default there is no angular test (``angle_test="none"``) and any peak
  region counts (``min_peak_voxel_count`` 1); cryoCAT's regions of equal
  whole-degree distance reject nearly every peak of a real map
  (``angle_test="regions"``, the test of ``placement="cryocat"``, with its
  7 voxels);

- the angle map's index base is subtracted once (``index_base``); cryoCAT
  always subtracts 1 and, with ``create_dist_maps``, subtracts it a second
  time and ignores ``angles_order`` (and the symmetry) for the maps;
- positions are 0-based voxels (x, y, z) like every particle list in cryotm;
  writers convert (an EM motive list gets index + 1, as extraction writes
  it). cryoCAT writes the 0-based index into a motive list whose convention
  is 1-based; its ``output_motl_name`` crashes (``write_to_emfile`` does not
  exist) - here `output` writes through any registered format;
- voxels whose distance is below 1 degree form a region like any other;
  cryoCAT's labelling takes them for background, so it can never select a
  particle oriented within 1 degree of the first angle of the list;
- the opening of each region is a true opening (zero outside the region);
  cryoCAT opens each region inside its bounding box with skimage's border
  rule (outside counts as inside for the erosion) and writes each box back
  whole, so overlapping boxes erase their neighbours' voxels;
- a template mask of odd size is centred on its centre voxel (``size // 2``,
  the rotation centre); cryoCAT rotates about ``size // 2`` but places
  ``ceil(size / 2)`` on the peak (one voxel off for odd sizes);
- ``edge_masking = 0`` masks nothing on that axis (cryoCAT masks everything).

Speed: every step after the threshold works on the above-threshold regions
only (bounding boxes of connected components) and each candidate is judged
inside its mask's box; no full-map operation runs per peak. A candidate's
verdict depends on accepted particles only through the overlap test (an
accepted particle's voxels are exactly the ones cryoCAT blanks), so one pass
in score order gives cryoCAT's result.

The package holds one idea per module: :mod:`~cryotm.picking.select.inputs`
(edge margins, masks, distance maps and their bins),
:mod:`~cryotm.picking.select.regions` (the angle-consistent regions),
:mod:`~cryotm.picking.select.footprints` (what a particle occupies),
:mod:`~cryotm.picking.select.greedy` (the placement in score order),
:mod:`~cryotm.picking.select.agreement` (the angular tests at the maximum),
:mod:`~cryotm.picking.select.selector` (:class:`PeakSelector`) and
:mod:`~cryotm.picking.select.api` (:func:`select_peaks`).
"""

from .api import select_peaks
from .footprints import rotate_template_mask, sphere_footprint
from .greedy import PLACEMENTS
from .inputs import edge_mask_margins
from .regions import filter_distance_maps
from .selector import DEFAULT_DIST_MAPS, PeakSelection, PeakSelector

__all__ = [
    "PeakSelection",
    "PeakSelector",
    "select_peaks",
    "filter_distance_maps",
    "sphere_footprint",
    "rotate_template_mask",
    "edge_mask_margins",
    "DEFAULT_DIST_MAPS",
    "PLACEMENTS",
]
