"""FGD (Yang et al., "Focal and Global Knowledge Distillation for Detectors", CVPR 2022):
imitation split into foreground and background by the ground-truth boxes and weighted by
the teacher's attention, plus the teacher's attention itself and its global context."""
from typing import Dict, List, Optional, Sequence

from mmcv.cnn import ContextBlock
from mmdet.structures import SampleList
from mmdet.utils import ConfigType
from torch import Tensor, nn

from ...registry import MODELS
from .base import DistillerContext
from .feature_distiller import FeatureDistiller
from .fgd_masks import fgd_level_masks


@MODELS.register_module()
class FGD(FeatureDistiller):
    """:class:`FGDLoss` per level on the aligned student feature, with GT masks from
    :func:`~.fgd_masks.fgd_masks` and one GcBlock context module per level and side.

    Per level ``l``: ``s = align_l(s_l)`` (1x1 conv where the channels differ, else the
    identity); masks from each image's ``gt_instances.bboxes``, ``img_shape`` and
    ``batch_input_shape``; ``g_s = gc_student_l(s)`` and ``g_t = gc_teacher_l(t_l)``, where
    a GcBlock (mmcv ``ContextBlock``: attention pooling, then conv1x1 C -> C/2, LayerNorm,
    ReLU, conv1x1 C/2 -> C added to every position) starts as the identity (last conv at
    zero). Both context blocks train with the student, as in the authors' code: the
    global term asks the two sides to agree on their context, not the student to copy a
    fixed teacher context. They, and the aligners, are left out of an export.

    Args:
        student / teacher: feature specs (see :class:`BaseDistiller`); default ``'neck'``
            (5 FPN levels for one-stage configs; two-stage ones use ``'neck[:4]'``).
        loss: :class:`FGDLoss` config with the temperature and the four weights.
        adapter_kernel: kernel size of the aligner on levels whose channels differ;
            ``None`` refuses such levels.
        **kwargs: schedule options of :class:`BaseDistiller`.
    """

    def __init__(self, student='neck', teacher=None, loss: ConfigType = dict(type='FGDLoss'),
                 adapter_kernel: Optional[int] = 1, **kwargs):
        super().__init__(student, teacher, loss=loss, adapter_kernel=adapter_kernel, **kwargs)
        self.student_context = nn.ModuleList()
        self.teacher_context = nn.ModuleList()

    def setup(self, context: DistillerContext) -> None:
        super().setup(context)
        teacher_levels = context.teacher_levels
        self.student_context = nn.ModuleList(_context_block(t.channels) for t in teacher_levels)
        self.teacher_context = nn.ModuleList(_context_block(t.channels) for t in teacher_levels)

    def loss_names(self) -> Sequence[str]:
        return ('loss_fg', 'loss_bg', 'loss_att', 'loss_global')

    def forward(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                batch_data_samples: SampleList) -> Dict[str, Tensor]:
        boxes, img_shapes, batch_shape = _ground_truth(batch_data_samples, len(teacher_feats[0]))
        fg_masks, bg_masks = fgd_level_masks([t.shape[2:] for t in teacher_feats], boxes,
                                             img_shapes, batch_shape, teacher_feats[0].device)
        aligned = self.adapt(student_feats)
        student_global = [gc(f) for gc, f in zip(self.student_context, aligned)]
        teacher_global = [gc(f) for gc, f in zip(self.teacher_context, teacher_feats)]
        return self.loss(aligned, teacher_feats, fg_masks, bg_masks, student_global,
                         teacher_global)


def _context_block(channels: int) -> ContextBlock:
    return ContextBlock(channels, ratio=0.5, pooling_type='att', fusion_types=('channel_add', ))


def _ground_truth(batch_data_samples, batch_size: int):
    """Per-image boxes and unpadded (h, w), and the batch's padded (H, W)."""
    if not batch_data_samples or len(batch_data_samples) != batch_size:
        raise ValueError(f'FGD needs the data samples of the batch ({batch_size} image(s)) '
                         'for their ground-truth boxes; got '
                         f'{0 if not batch_data_samples else len(batch_data_samples)}.')
    boxes, img_shapes = [], []
    for sample in batch_data_samples:
        if 'gt_instances' not in sample or 'bboxes' not in sample.gt_instances:
            raise ValueError('FGD needs ground-truth boxes (gt_instances.bboxes) in every data '
                             "sample: load them with dict(type='LoadAnnotations', "
                             "with_bbox=True) and pack them with PackDetInputs.")
        if 'img_shape' not in sample or 'batch_input_shape' not in sample:
            raise ValueError("FGD needs 'img_shape' and 'batch_input_shape' in the data "
                             "samples' metainfo, which mmdet's DetDataPreprocessor sets.")
        bboxes = sample.gt_instances.bboxes
        boxes.append(getattr(bboxes, 'tensor', bboxes))  # plain tensor or mmdet box type
        img_shapes.append(sample.img_shape[:2])
    return boxes, img_shapes, batch_data_samples[0].batch_input_shape[:2]
