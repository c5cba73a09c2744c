"""CWD (Shu et al., ICCV 2021): each channel's spatial distribution of activation in the
student follows the teacher's (softmax over positions, KL divergence)."""
from typing import Dict, List, Optional

from torch import Tensor, nn

from ...registry import MODELS
from ..layers import build_adapters
from .base import BaseDistiller, DistillerContext
from .level_checks import check_levels


@MODELS.register_module()
class CWD(BaseDistiller):
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
                 loss: dict = dict(type='ChannelWiseDivergenceLoss', tau=1.0, loss_weight=10.0),
                 adapter_kernel: Optional[int] = 1, **kwargs):
        super().__init__(student, teacher, **kwargs)
        self.loss = MODELS.build(loss)
        self.adapter_kernel = adapter_kernel
        self.adapters = nn.ModuleList()

    def setup(self, context: DistillerContext) -> None:
        super().setup(context)
        student_levels, teacher_levels = context.student_levels, context.teacher_levels
        check_levels('CWD', student_levels, teacher_levels,
                     same_channels=self.adapter_kernel is None)
        self.adapters = build_adapters(student_levels, teacher_levels, self.adapter_kernel,
                                       where_channels_differ=True)

    def forward(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                batch_data_samples) -> Dict[str, Tensor]:
        adapted = [adapter(f) for adapter, f in zip(self.adapters, student_feats)]
        return dict(loss=self.loss(adapted, teacher_feats))
