"""FGFI (Wang et al., CVPR 2019): the student imitates the teacher's features only at the
locations whose anchors lie near a ground-truth box (the imitation mask)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.structures import SampleList
from mmdet.utils import ConfigType
from torch import Tensor, nn

from ...registry import MODELS
from ..recorder import FeatureLevel
from .base import DistillerContext
from .feature_distiller import FeatureDistiller
from .imitation_anchors import POINT_ANCHOR_SCALE, ImitationAnchors, find_prior_generator
from .imitation_mask import MAX_IOU_OVER, imitation_masks


@MODELS.register_module()
class FGFI(FeatureDistiller):
    """Fine-grained feature imitation on FPN (or backbone) levels.

    Per level ``l``: ``adapter_l(s_l)`` (N, C_t, H, W) is compared with the teacher's
    ``t_l`` (N, C_t, H, W) at the locations of the imitation mask (N, H, W)
    (:mod:`.imitation_mask`), built from the **student's own priors** (its anchors,
    strides and the batch padding) and each image's ground-truth boxes. Every recorded
    level is matched to the prior level of the same stride, so FPN outputs (P2..P6 <-> the
    RPN's 5 levels) and backbone stages (C2..C5 <-> strides 4..32) both work. Anchor-free
    students (FCOS, RTMDet: point priors) get one virtual square anchor per location
    (:mod:`.imitation_anchors`). The loss (:class:`ImitationLoss`) sums the squared error
    over masked locations and channels of all levels and divides by ``2 * Np`` (positive
    locations, all levels).

    Default loss weight, 0.02: the paper's ``lambda = 0.01`` applied to a sum over the
    512 channels of VGG16 conv5, i.e. ``0.01 * 512 / 2 = 2.56`` times the per-element
    mean squared error at masked locations. FPN levels have 256 channels, so the same
    per-element weight is ``2.56 * 2 / 256 = 0.02``. Because ``Np`` counts the positives
    of all levels together, more levels do not multiply the loss. When the loss switches
    on (adapter still ~ 0) it is ``loss_weight * C / 2 * mean(t^2)`` over the masked
    locations (C = 256): 2.56 * mean(t^2), of the order of the detection losses (2 to 4
    at init) for FPN features of about unit scale. (With a randomly initialised teacher,
    whose FPN outputs are much smaller, mean(t^2) ~ 0.02-0.06, it measured 0.06-0.16
    against 2.2-3.8; see the logged ``distill_<name>_loss`` on a real teacher and scale
    the weight if the two are far apart.) For backbone features with C_t teacher
    channels the same per-element weight is ``0.02 * 256 / C_t`` (one distiller per
    channel count, or accept the larger weight of the wide stages).

    Args:
        student / teacher: feature specs (see :class:`BaseDistiller`); default ``'neck'``.
        loss: loss config called as ``loss(adapted, teacher_feats, masks)``; default
            ``dict(type='ImitationLoss', loss_weight=0.02)``.
        psi: threshold factor: anchors with ``IoU > psi * max IoU`` of a box are near it.
        max_iou_over: ``'all'`` (default; the max IoU of a box over all distilled levels'
            anchors, so a box marks mainly its own scale) or ``'level'`` (the max per
            level, so every box marks every level).
        adapter_kernel: kernel size of the per-level adaptation conv (student channels ->
            teacher channels, padding ``k // 2``); ``None`` compares features directly
            (channels must agree).
        adapter_relu: ReLU after the adapter (the original, whose VGG teacher features
            are post-ReLU; FPN outputs are signed, hence off by default).
        adapter_init_std: std of the normal init of the adapter weights (bias 0); the
            original's 1e-4 makes the adapter start near zero.
        prior_generator: attribute path of the prior generator in the student; ``None``
            (default) takes ``'rpn_head.prior_generator'`` (two-stage detectors) or else
            ``'bbox_head.prior_generator'`` (one-stage detectors).
        point_anchor_scale: for point priors (anchor-free heads), the side of each
            location's virtual square anchor in strides; default 4, RetinaNet's base
            anchor. Unused with anchor priors.
        warmup_iters / warmup: default ``400`` / ``'step'``: the loss is off for the
            first 400 iterations, as in the original.
        **kwargs: other schedule options of :class:`BaseDistiller`.
    """

    adapt_every_level = True

    def __init__(self,
                 student='neck',
                 teacher=None,
                 loss: ConfigType = dict(type='ImitationLoss', loss_weight=0.02),
                 psi: float = 0.5,
                 max_iou_over: str = 'all',
                 adapter_kernel: Optional[int] = 3,
                 adapter_relu: bool = False,
                 adapter_init_std: float = 1e-4,
                 prior_generator: Optional[str] = None,
                 point_anchor_scale: float = POINT_ANCHOR_SCALE,
                 warmup_iters: int = 400,
                 warmup: str = 'step',
                 **kwargs):
        super().__init__(student, teacher, loss=loss, adapter_kernel=adapter_kernel,
                         warmup_iters=warmup_iters, warmup=warmup, **kwargs)
        if not 0 < psi < 1:
            raise ValueError(f'FGFI: psi must be in (0, 1), got {psi} (the paper uses 0.5).')
        if max_iou_over not in MAX_IOU_OVER:
            raise ValueError(f"FGFI: max_iou_over must be 'all' (max IoU of a box over all "
                             f"levels' anchors) or 'level' (per level), got {max_iou_over!r}.")
        if not point_anchor_scale > 0:
            raise ValueError(f'FGFI: point_anchor_scale must be > 0 (side of the virtual '
                             f'anchor of a point prior, in strides), got {point_anchor_scale}.')
        self.psi = psi
        self.max_iou_over = max_iou_over
        self.adapter_relu = adapter_relu
        self.adapter_init_std = adapter_init_std
        self.prior_generator_path = prior_generator
        self.point_anchor_scale = point_anchor_scale
        self.anchor_levels: List[int] = []
        self._anchors: Optional[ImitationAnchors] = None

    def setup(self, context: DistillerContext) -> None:
        super().setup(context)
        path, generator = find_prior_generator(context.student, self.prior_generator_path)
        self._anchors = ImitationAnchors(generator, path,
                                         [level.stride for level in context.student_levels],
                                         self.point_anchor_scale)
        self.anchor_levels = list(self._anchors.levels)

    def build_adapters(self, student_levels: Sequence[FeatureLevel],
                       teacher_levels: Sequence[FeatureLevel]) -> nn.ModuleList:
        """Adapters that start near zero (``adapter_init_std``), ReLU optional."""
        return super().build_adapters(student_levels, teacher_levels,
                                      init_std=self.adapter_init_std, relu=self.adapter_relu)

    @torch.no_grad()
    def imitation_masks(self, featmap_sizes: Sequence[Tuple[int, int]],
                        batch_data_samples: SampleList,
                        device) -> List[Tensor]:
        """Per distilled level, the (N, H, W) bool mask of the batch (no grad)."""
        self.check_set_up()
        featmap_sizes = [tuple(int(v) for v in size) for size in featmap_sizes]
        if len(featmap_sizes) != len(self.anchor_levels):
            raise ValueError(f'FGFI expected {len(self.anchor_levels)} feature levels, got '
                             f'{len(featmap_sizes)}.')
        anchors = [self._anchors(size, level, device) for level, size in enumerate(featmap_sizes)]
        boxes = [sample.gt_instances.bboxes for sample in batch_data_samples]
        shapes = [sample.img_shape[:2] for sample in batch_data_samples]
        return imitation_masks(anchors, featmap_sizes, boxes, shapes, self.psi,
                               self.max_iou_over)

    def forward(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                batch_data_samples: SampleList) -> Dict[str, Tensor]:
        for level, (s, t) in enumerate(zip(student_feats, teacher_feats)):
            if s.shape[0] != t.shape[0] or s.shape[2:] != t.shape[2:]:
                raise ValueError(f'FGFI level {level}: student {tuple(s.shape)} and teacher '
                                 f'{tuple(t.shape)} features differ in batch or spatial size.')
        masks = self.imitation_masks([f.shape[2:] for f in student_feats], batch_data_samples,
                                     student_feats[0].device)
        return dict(loss=self.loss(self.adapt(student_feats), teacher_feats, masks))
