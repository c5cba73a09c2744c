"""MGD (Yang et al., ECCV 2022): the student's feature, with random positions masked out,
must be enough for a small generator to rebuild the teacher's whole feature."""
from typing import Dict, List, Optional

from mmdet.structures import OptSampleList
from mmdet.utils import ConfigType
from torch import Tensor, nn

from ...registry import MODELS
from ..layers import MGDGenerator
from .base import DistillerContext
from .feature_distiller import FeatureDistiller


@MODELS.register_module()
class MGD(FeatureDistiller):
    """Per level: ``loss(generator(mask(align(s))), t)`` with :class:`MGDGenerator` and
    :class:`MGDLoss`.

    ``align`` is a 1x1 conv (student C -> teacher C) on levels whose channels differ,
    the identity otherwise. The aligners and generators train with the student and are
    not part of it: an export keeps only the ``student.`` weights.

    Args:
        student / teacher: feature specs (see :class:`BaseDistiller`); default ``'neck'``
            (the 5 FPN levels of one-stage configs; two-stage ones use ``'neck[:4]'``).
        mask_ratio: ``lambda``, share of masked positions; 0.65 one-stage, 0.45 two-stage.
        loss: loss config; default ``dict(type='MGDLoss', loss_weight=2e-5)`` (one-stage;
            two-stage configs use 5e-7).
        adapter_kernel: kernel size of the aligner on levels whose channels differ;
            ``None`` refuses such levels.
        **kwargs: schedule options of :class:`BaseDistiller`.
    """

    def __init__(self, student='neck', teacher=None, mask_ratio: float = 0.65,
                 loss: ConfigType = dict(type='MGDLoss', loss_weight=2e-5),
                 adapter_kernel: Optional[int] = 1, **kwargs):
        super().__init__(student, teacher, loss=loss, adapter_kernel=adapter_kernel, **kwargs)
        if not 0 <= mask_ratio < 1:
            raise ValueError(f'MGD: mask_ratio must be in [0, 1), got {mask_ratio}.')
        self.mask_ratio = mask_ratio
        self.generators = nn.ModuleList()  # generators[l] rebuilds teacher level l

    def setup(self, context: DistillerContext) -> None:
        super().setup(context)
        self.generators = nn.ModuleList(
            MGDGenerator(t.channels, self.mask_ratio) for t in context.teacher_levels)

    def forward(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                batch_data_samples: OptSampleList) -> Dict[str, Tensor]:
        generated = [generator(feat) for generator, feat
                     in zip(self.generators, self.adapt(student_feats))]
        return dict(loss=self.loss(generated, teacher_feats))
