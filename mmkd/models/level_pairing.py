"""Pairing student and teacher feature levels by stride.

Detectors of different families put their FPN levels at different strides: Faster/Mask
R-CNN's P2..P6 are strides 4..64, RetinaNet's and FCOS's P3..P7 strides 8..128,
RTMDet's P3..P5 strides 8..32. When a distiller names the same whole feature on each
side (``student='neck', teacher='neck'``) and its levels cover different strides, both
sides are narrowed to the strides they share (P3..P6 for a Mask R-CNN teacher and a
RetinaNet student), and the pairing is logged once. Explicit slices (``'neck[1:]'``)
are never changed.
"""
import dataclasses
import logging
from typing import List, NamedTuple, Optional, Sequence, Tuple

from mmengine.logging import print_log

from .recorder import FeatureLevel, FeatureSpec

Levels = Optional[List[FeatureLevel]]


class PairedLevels(NamedTuple):
    """The specs to record on each side and their levels, in the same order."""
    student_specs: List[FeatureSpec]
    teacher_specs: List[FeatureSpec]
    student_levels: Levels
    teacher_levels: Levels


def pair_levels_by_stride(student_specs: Sequence[FeatureSpec],
                          teacher_specs: Sequence[FeatureSpec], student_levels: Levels,
                          teacher_levels: Levels, owner: str) -> PairedLevels:
    """The specs and levels of a distiller, restricted to the strides both sides share.

    Applies when ``student_specs`` and ``teacher_specs`` are one spec each, of the same
    module (``'neck'`` and ``'neck'``), neither selects levels, both were probed, and
    their strides differ: the specs are then replaced by the matching slices (so the
    recorders select the paired levels during training) and the levels by those slices.
    Otherwise everything is returned unchanged.

    Args:
        student_specs / teacher_specs: the distiller's configured specs.
        student_levels / teacher_levels: their probed levels (``None``: not probed).
        owner: the distiller's name, for messages.

    Raises:
        ValueError: the two sides share no stride, or the shared strides are not one
            contiguous run of levels on each side.
    """
    unchanged = PairedLevels(list(student_specs), list(teacher_specs), student_levels,
                             teacher_levels)
    if (student_levels is None or teacher_levels is None
            or len(student_specs) != 1 or len(teacher_specs) != 1):
        return unchanged
    student_spec, teacher_spec = student_specs[0], teacher_specs[0]
    if (student_spec.index is not None or teacher_spec.index is not None
            or student_spec.path != teacher_spec.path):
        return unchanged
    student_strides = [level.stride for level in student_levels]
    teacher_strides = [level.stride for level in teacher_levels]
    if student_strides == teacher_strides:
        return unchanged

    described = (f"the student's '{student_spec}' has strides {student_strides} and the "
                 f"teacher's '{teacher_spec}' strides {teacher_strides}")
    common = [stride for stride in student_strides if stride in teacher_strides]
    if not common:
        raise ValueError(
            f'{owner}: {described}: different strides, none shared, so no level can be '
            'paired. Distil '
            'features of a common stride (e.g. backbone stages, or necks with overlapping '
            'levels).')
    student_slice = _contiguous_slice(student_strides, common)
    teacher_slice = _contiguous_slice(teacher_strides, common)
    if student_slice is None or teacher_slice is None:
        raise ValueError(
            f'{owner}: {described}; the shared strides {common} are not one run of '
            "consecutive levels on both sides. Pair the levels with explicit slices, "
            "e.g. student='neck[:4]', teacher='neck[1:]'.")
    student_spec = _sliced(student_spec, student_slice, len(student_levels))
    teacher_spec = _sliced(teacher_spec, teacher_slice, len(teacher_levels))
    print_log(f"{owner}: {described}; paired by stride: student '{student_spec}' <-> "
              f"teacher '{teacher_spec}' (strides {common}).", logger='current',
              level=logging.INFO)
    return PairedLevels([student_spec], [teacher_spec],
                        _relabel(student_levels[slice(*student_slice)], student_spec),
                        _relabel(teacher_levels[slice(*teacher_slice)], teacher_spec))


def _contiguous_slice(strides: List[int], common: List[int]) -> Optional[Tuple[int, int]]:
    """(start, stop) of the levels whose strides are ``common``, in that order, or None."""
    start = strides.index(common[0])
    stop = start + len(common)
    return (start, stop) if strides[start:stop] == common else None


def _sliced(spec: FeatureSpec, bounds: Tuple[int, int], count: int) -> FeatureSpec:
    start, stop = bounds
    return dataclasses.replace(spec, index=(start or None, None if stop == count else stop))


def _relabel(levels: List[FeatureLevel], spec: FeatureSpec) -> List[FeatureLevel]:
    return [dataclasses.replace(level, spec=str(spec), index=index)
            for index, level in enumerate(levels)]
