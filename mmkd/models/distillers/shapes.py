"""Build-time checks shared by the feature distillers."""
from typing import List, Optional

import torch


def check_level_shapes(name: str, student: Optional[List[torch.Size]],
                       teacher: Optional[List[torch.Size]], same_channels: bool = False) -> None:
    """Check that student and teacher give the same number of levels of matching sizes.

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
        if len(s) != 4 or len(t) != 4:
            raise ValueError(f'{name}: level {level} is not an (N, C, H, W) feature map '
                             f'(student {tuple(s)}, teacher {tuple(t)}).')
        if s[2:] != t[2:]:
            raise ValueError(
                f'{name}: level {level} has spatial size {tuple(s[2:])} on the student but '
                f'{tuple(t[2:])} on the teacher for a 128x128 input: the two features have '
                'different strides. Pair levels of the same stride.')
        if same_channels and s[1] != t[1]:
            raise ValueError(
                f'{name}: level {level} has {s[1]} channels on the student but {t[1]} on the '
                'teacher. Enable the adapter so the student is projected to the teacher.')
