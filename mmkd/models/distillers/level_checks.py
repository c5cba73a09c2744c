"""Build-time checks that the student and teacher levels a distiller pairs agree."""
from typing import List, Optional

from ..recorder import FeatureLevel


def check_levels(name: str, student: Optional[List[FeatureLevel]],
                 teacher: Optional[List[FeatureLevel]], same_channels: bool = False) -> None:
    """Check that student and teacher give the same number of levels, pairwise of the
    same stride (and channels, with ``same_channels``).

    Raises:
        ValueError: naming the level and the mismatch, with the fix.
    """
    if student is None or teacher is None:
        raise ValueError(f'{name} distils backbone/neck features; the given specs lie '
                         "outside them. Use specs such as 'neck' or 'backbone.layer3'.")
    if len(student) != len(teacher):
        raise ValueError(
            f'{name}: the student specs give {len(student)} level(s) but the teacher specs '
            f'give {len(teacher)}. Select matching levels, e.g. "neck[:4]" on both sides.')
    for level, (s, t) in enumerate(zip(student, teacher)):
        if s.stride != t.stride:
            raise ValueError(
                f'{name}: level {level} has stride {s.stride} on the student ({s.spec}) but '
                f'{t.stride} on the teacher ({t.spec}): the two features have different '
                'strides. Pair levels of the same stride.')
        if same_channels and s.channels != t.channels:
            raise ValueError(
                f'{name}: level {level} has {s.channels} channels on the student but '
                f'{t.channels} on the teacher. Enable the adapter so the student is '
                'projected to the teacher.')
