"""ReviewKD (Chen et al., "Distilling Knowledge via Knowledge Review", CVPR 2021): each
student level is fused with the (fused) deeper student levels and compared with the
teacher's feature of that level, so deep student features also learn from shallow
teacher features."""
from typing import Dict, List

from mmdet.structures import OptSampleList
from mmdet.utils import ConfigType
from torch import Tensor, nn

from ...registry import MODELS
from ..layers import ABF
from ..loss_balance import FEATURE_RATIO
from .base import BaseDistiller, DistillerContext
from .level_checks import check_levels


@MODELS.register_module()
class ReviewKD(BaseDistiller):
    """Residual review chain of :class:`ABF` modules with the :class:`HCLLoss`.

    The recorded levels (shallow to deep, e.g. FPN P2..P6 or ResNet C2..C5) each get one
    ABF, with in channels taken from the student's level and out channels from the
    teacher's. From the deepest level (no fusion) to the shallowest::

        out_i, residual = abf_i(s_i, residual)      # residual: fused, mid channels
        loss = HCL([out_1 .. out_n], [t_1 .. t_n])  # summed over levels, times loss_weight

    The ABF outputs feed only the loss; the student's heads keep using its own features.

    Args:
        student / teacher: feature specs (see :class:`BaseDistiller`), e.g. ``'neck'``
            for P2..P6 or ``'backbone'`` for the stages in ``out_indices``.
        mid_channels: channels of the fused features passed along the chain, one value
            for all levels. Default 256: the FPN width, which the authors' detection code
            uses for P2..P6; also a sensible cap for backbone stages (C2..C5).
        loss: loss config called with the per-level lists; default
            ``dict(type='HCLLoss', loss_weight=1.0)``.
        norm_cfg: norm layer of the ABFs (``dict(type='SyncBN')`` for multi-GPU runs).
        **kwargs: schedule options of :class:`BaseDistiller` (no warm-up for detection
            in the paper).
    """
    balance_ratio = FEATURE_RATIO

    def __init__(self, student, teacher=None, mid_channels: int = 256,
                 loss: ConfigType = dict(type='HCLLoss'), norm_cfg: ConfigType = dict(type='BN'),
                 **kwargs):
        super().__init__(student, teacher, **kwargs)
        if not isinstance(mid_channels, int) or isinstance(mid_channels, bool) \
                or mid_channels < 1:
            raise ValueError(f'ReviewKD: mid_channels must be a positive int, got '
                             f'{mid_channels!r}')
        self.mid_channels = mid_channels
        self.norm_cfg = norm_cfg
        self.loss = MODELS.build(loss)
        self.abfs = nn.ModuleList()  # abfs[i] serves level i (shallow to deep)

    def setup(self, context: DistillerContext) -> None:
        super().setup(context)
        student_levels, teacher_levels = context.student_levels, context.teacher_levels
        check_levels('ReviewKD', student_levels, teacher_levels)
        for level in range(1, len(student_levels)):
            if student_levels[level].stride < student_levels[level - 1].stride:
                raise ValueError(
                    f'ReviewKD: the levels must go from shallow to deep (strides not '
                    f'decreasing), but level {level} is {student_levels[level]} after '
                    f'{student_levels[level - 1]}. List the specs shallow first, e.g. '
                    "['backbone.layer3', 'backbone.layer4'].")
        last = len(student_levels) - 1
        self.abfs = nn.ModuleList(
            ABF(s.channels, self.mid_channels, t.channels, fuse=level < last,
                norm_cfg=self.norm_cfg)
            for level, (s, t) in enumerate(zip(student_levels, teacher_levels)))

    def forward(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                batch_data_samples: OptSampleList) -> Dict[str, Tensor]:
        self._check_inputs(student_feats, teacher_feats)
        outs: List[Tensor] = [None] * len(self.abfs)
        residual = None
        for level in reversed(range(len(self.abfs))):
            outs[level], residual = self.abfs[level](student_feats[level], residual)
        return dict(loss=self.loss(outs, teacher_feats))

    def _check_inputs(self, student_feats, teacher_feats) -> None:
        if len(student_feats) != len(self.abfs) or len(teacher_feats) != len(self.abfs):
            raise ValueError(f'ReviewKD was built for {len(self.abfs)} level(s) but got '
                             f'{len(student_feats)} student and {len(teacher_feats)} teacher '
                             'feature(s).')
        for level, (s, t) in enumerate(zip(student_feats, teacher_feats)):
            if s.shape[2:] != t.shape[2:]:
                raise ValueError(
                    f'ReviewKD: level {level} has spatial size {tuple(s.shape[2:])} on the '
                    f'student but {tuple(t.shape[2:])} on the teacher for this batch. The '
                    'two backbones round odd sizes differently: pad inputs to a multiple '
                    "of the largest stride (mmdet's pad_size_divisor=32) or pair other levels.")
