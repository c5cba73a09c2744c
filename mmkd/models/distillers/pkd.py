"""PKD (Cao et al., NeurIPS 2022): the student's features only have to correlate with the
teacher's, channel by channel (Pearson correlation), not match their magnitude."""
from typing import Optional, Sequence

from mmdet.utils import ConfigType

from ...registry import MODELS
from ..recorder import FeatureLevel
from .feature_distiller import FeatureDistiller


@MODELS.register_module()
class PKD(FeatureDistiller):
    """:class:`PKDLoss` between the student's and the teacher's levels, paired by index.

    The levels need not share strides: the published configs pair FPN levels by position
    (e.g. a Mask R-CNN teacher's P2..P5 with a RetinaNet student's P3..P6), and the loss
    resizes the student's map to the teacher's. Where channels differ, a conv adapter
    (student C -> teacher C) is learnt with the student; the authors need equal channels.

    Args:
        student / teacher: feature specs (see :class:`BaseDistiller`); the published
            configs distil the first four FPN levels, ``'neck[:4]'``.
        loss: loss config; default ``dict(type='PKDLoss', loss_weight=6.0)`` (Faster
            R-CNN's; RetinaNet students use 10).
        adapter_kernel: kernel size of the adapter used on levels whose channels differ;
            ``None`` refuses such levels.
        **kwargs: schedule options of :class:`BaseDistiller`.
    """

    def __init__(self, student='neck[:4]', teacher=None,
                 loss: ConfigType = dict(type='PKDLoss', loss_weight=6.0),
                 adapter_kernel: Optional[int] = 1, **kwargs):
        super().__init__(student, teacher, loss=loss, adapter_kernel=adapter_kernel, **kwargs)

    def check_levels(self, student_levels: Optional[Sequence[FeatureLevel]],
                     teacher_levels: Optional[Sequence[FeatureLevel]]) -> None:
        """As many levels on both sides; strides may differ (the loss resizes)."""
        if student_levels is None or teacher_levels is None:
            raise ValueError("PKD distils backbone/neck features; the given specs lie outside "
                             "them. Use specs such as 'neck[:4]' or 'backbone'.")
        if len(student_levels) != len(teacher_levels):
            raise ValueError(
                f'PKD pairs levels by index, but the student specs give {len(student_levels)} '
                f'level(s) and the teacher specs {len(teacher_levels)}. Select as many on both '
                "sides, e.g. 'neck[:4]'.")
        for s, t in zip(student_levels, teacher_levels):
            if self.adapter_kernel is None and s.channels != t.channels:
                raise ValueError(f'PKD: student {s} and teacher {t} differ in channels and '
                                 'adapter_kernel=None; set adapter_kernel=1 to learn a 1x1 '
                                 'conv from the student to the teacher channels.')
