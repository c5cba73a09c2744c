"""Base class of the distillers that compare adapted student levels with teacher levels."""
from typing import Dict, List, Optional, Sequence

from mmdet.structures import OptSampleList
from mmdet.utils import ConfigType
from torch import Tensor, nn

from ...registry import MODELS
from ..layers import build_adapters
from ..loss_balance import FEATURE_RATIO
from ..recorder import FeatureLevel
from .base import BaseDistiller, DistillerContext
from .level_checks import check_levels


class FeatureDistiller(BaseDistiller):
    """A loss between the student's levels, each mapped to the teacher's channels by an
    adapter conv, and the teacher's levels: ``loss([adapter_l(s_l)], [t_l])``.

    At :meth:`setup` the levels are checked (:meth:`check_levels`: same count and
    stride, and same channels where there is no adapter) and one adapter is built per
    level (:meth:`build_adapters`). A method then only states its difference: extra
    per-level layers (extend :meth:`setup`), other checks, or a :meth:`forward` that
    passes more than the adapted student and the teacher features to its loss.

    Attributes:
        adapt_every_level: ``True`` gives every level a learnt adapter (FitNet's
            regressor); ``False`` adapts only the levels whose channels differ and
            compares the others directly, as methods that need equal channels do.

    Args:
        student / teacher: feature specs (see :class:`BaseDistiller`).
        loss: loss config, called by the default :meth:`forward` with the per-level
            lists ``(adapted student, teacher)``.
        adapter_kernel: odd kernel size of the adapter convs (student C -> teacher C,
            padding ``k // 2``); ``None`` compares features directly, so the channels
            must agree.
        **kwargs: schedule options of :class:`BaseDistiller`.
    """

    adapt_every_level: bool = False
    balance_ratio = FEATURE_RATIO

    def __init__(self, student, teacher=None, *, loss: ConfigType,
                 adapter_kernel: Optional[int] = 1, **kwargs):
        super().__init__(student, teacher, **kwargs)
        if adapter_kernel is not None and (adapter_kernel < 1 or adapter_kernel % 2 == 0):
            raise ValueError(f'{type(self).__name__}: adapter_kernel must be an odd size >= 1 '
                             f'(or None for no adapter), got {adapter_kernel}.')
        self.loss = MODELS.build(loss)
        self.adapter_kernel = adapter_kernel
        self.adapters = nn.ModuleList()  # adapters[l] maps student level l

    def setup(self, context: DistillerContext) -> None:
        super().setup(context)
        self.check_levels(context.student_levels, context.teacher_levels)
        self.adapters = self.build_adapters(context.student_levels, context.teacher_levels)

    def check_levels(self, student_levels: Optional[Sequence[FeatureLevel]],
                     teacher_levels: Optional[Sequence[FeatureLevel]]) -> None:
        """Levels paired by position must have the same stride (see :func:`check_levels`)."""
        check_levels(type(self).__name__, student_levels, teacher_levels,
                     same_channels=self.adapter_kernel is None)

    def build_adapters(self, student_levels: Sequence[FeatureLevel],
                       teacher_levels: Sequence[FeatureLevel], **options) -> nn.ModuleList:
        """One adapter per level pair; ``options`` (``init_std``, ``relu``) go to
        :func:`~mmkd.models.layers.build_adapters`."""
        return build_adapters(student_levels, teacher_levels, self.adapter_kernel,
                              where_channels_differ=not self.adapt_every_level, **options)

    def adapt(self, student_feats: List[Tensor]) -> List[Tensor]:
        """The student levels (N, C_s, H, W) mapped to (N, C_t, H, W)."""
        return [adapter(feat) for adapter, feat in zip(self.adapters, student_feats)]

    def forward(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                batch_data_samples: OptSampleList) -> Dict[str, Tensor]:
        return dict(loss=self.loss(self.adapt(student_feats), teacher_feats))
