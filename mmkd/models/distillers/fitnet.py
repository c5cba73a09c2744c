"""FitNet (Romero et al., 2015): the student's features, adapted by a conv, regress the
teacher's features of the same level."""
from typing import Dict, List

from torch import Tensor, nn

from ...registry import MODELS
from ..layers import build_adapters
from .base import BaseDistiller, DistillerContext
from .level_checks import check_levels


@MODELS.register_module()
class FitNet(BaseDistiller):
    """Same-level hint loss: ``loss(adapter(s_i), t_i)`` for every recorded level.

    Args:
        student / teacher: feature specs (see :class:`BaseDistiller`).
        loss: loss config called with the per-level lists; default
            ``dict(type='FeatureMSELoss', loss_weight=1.0)``.
        adapter_kernel: kernel size of the adapter conv (student C -> teacher C), one per
            level; ``None`` compares features directly (channels must then agree).
        **kwargs: schedule options of :class:`BaseDistiller`.
    """

    def __init__(self, student, teacher=None, loss: dict = dict(type='FeatureMSELoss'),
                 adapter_kernel=1, **kwargs):
        super().__init__(student, teacher, **kwargs)
        self.loss = MODELS.build(loss)
        self.adapter_kernel = adapter_kernel
        self.adapters = nn.ModuleList()

    def setup(self, context: DistillerContext) -> None:
        super().setup(context)
        student_levels, teacher_levels = context.student_levels, context.teacher_levels
        check_levels('FitNet', student_levels, teacher_levels,
                     same_channels=self.adapter_kernel is None)
        self.adapters = build_adapters(student_levels, teacher_levels, self.adapter_kernel)

    def forward(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                batch_data_samples) -> Dict[str, Tensor]:
        adapted = [adapter(f) for adapter, f in zip(self.adapters, student_feats)]
        return dict(loss=self.loss(adapted, teacher_feats))
