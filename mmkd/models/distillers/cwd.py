"""CWD (Shu et al., ICCV 2021): each channel's spatial distribution of activation in the
student follows the teacher's (softmax over positions, KL divergence)."""
from typing import Optional

from mmdet.utils import ConfigType

from ...registry import MODELS
from .feature_distiller import FeatureDistiller


@MODELS.register_module()
class CWD(FeatureDistiller):
    """:class:`ChannelWiseDivergenceLoss` on levels of the same stride.

    Where channels differ, a conv adapter (student C -> teacher C) is learnt with the
    student, so the i-th student channel is compared with the i-th teacher channel after
    projection; the authors need equal channels.

    Args:
        student / teacher: feature specs (see :class:`BaseDistiller`); default ``'neck'``
            (all FPN levels, as in MMRazor's configs).
        loss: loss config; default ``dict(type='ChannelWiseDivergenceLoss', tau=1.0,
            loss_weight=10.0)`` (MMRazor's FPN configs).
        adapter_kernel: kernel size of the adapter used on levels whose channels differ;
            ``None`` refuses such levels.
        **kwargs: schedule options of :class:`BaseDistiller`.
    """

    def __init__(self, student='neck', teacher=None,
                 loss: ConfigType = dict(type='ChannelWiseDivergenceLoss', tau=1.0,
                                         loss_weight=10.0),
                 adapter_kernel: Optional[int] = 1, **kwargs):
        super().__init__(student, teacher, loss=loss, adapter_kernel=adapter_kernel, **kwargs)
