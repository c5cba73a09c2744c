"""What KD's two parts (:mod:`.kd_roi`, :mod:`.kd_dense`) and MaskKD check alike on a pair of
heads; ``method`` names the distiller in the errors."""
from typing import List, Optional, Sequence

from ..recorder import FeatureLevel

#: How KD's errors point users to the distillers that need no common outputs.
FEATURE_DISTILLERS = "Use a feature distiller on 'neck' instead (FitNet, ReviewKD, FGFI)."


def check_same_classes(student_head, teacher_head, what: str, method: str = 'KD') -> None:
    """Both classifiers score the same ``num_classes``."""
    s_classes, t_classes = student_head.num_classes, teacher_head.num_classes
    if s_classes != t_classes:
        raise ValueError(
            f'{method}: the student {what} has {s_classes} classes but the teacher has '
            f'{t_classes}; logits can only be distilled between the same classes.')


def check_teacher_levels(levels: Optional[List[FeatureLevel]], specs: Sequence,
                         reader: str, strides: List[int], channels: int,
                         method: str = 'KD') -> None:
    """The recorded teacher levels are the ones its head (``reader``) reads: at least
    ``len(strides)`` levels, of these strides and ``channels`` channels (``method`` names
    the distiller in the errors)."""
    specs = [str(s) for s in specs]
    if levels is None:
        raise ValueError(
            f"{method}: the teacher spec must name the features the teacher's head reads "
            f"(backbone/neck levels, e.g. 'neck'), got {specs}.")
    if len(levels) < len(strides):
        raise ValueError(
            f"{method}: the teacher's {reader} reads {len(strides)} levels (strides {strides}) "
            f"but the teacher spec {specs} gives {len(levels)}. Use 'neck'.")
    for index, (level, stride) in enumerate(zip(levels, strides)):
        if level.stride != stride:
            raise ValueError(
                f"{method}: teacher level {index} is {level}, but the teacher's {reader} "
                f"expects stride {stride} there. Use the features its head reads "
                "(usually 'neck').")
        if level.channels != channels:
            raise ValueError(
                f"{method}: teacher level {index} is {level}, but the teacher's {reader} reads "
                f"{channels}-channel features. Use the features its head reads (usually "
                "'neck', not 'backbone').")
