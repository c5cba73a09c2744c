"""BCKD (Yang et al., "Bridging Cross-task Protocol Inconsistency for Distillation in Dense
Object Detection", ICCV 2023): classification KD as independent binary problems with a
quality-focal modulation, and localisation KD by the IoU of the two heads' decoded boxes."""
from typing import Dict, List, Sequence

import torch
from mmdet.structures import SampleList
from mmdet.utils import ConfigType
from torch import Tensor, nn

from ...registry import MODELS
from .dense_distiller import DenseHeadDistiller, prior_rows
from .dense_targets import decode_boxes, dense_targets


@MODELS.register_module()
class BCKD(DenseHeadDistiller):
    """BCKD on a dense head with sigmoid classifiers (RetinaNet, ATSS, GFL, FCOS).

    With student/teacher class logits ``s``, ``t`` (B, N, C) on the same priors, the
    student head's own assignment (label weights ``w_i``, positives averaged over ranks
    ``#pos``, see :func:`~.dense_targets.dense_targets`) and boxes ``b_s``, ``b_t`` decoded
    by each head's own coder (:func:`~.dense_targets.decode_boxes`)::

        loss_cls = 1 * sum_i w_i sum_c BCE(s_ic, sg(sigma(t_ic))) |sigma(t_ic) - sigma(s_ic)|
                   / #pos
        loss_box = 4 * sum_i w_i sg(max_c |sigma(t_ic) - sigma(s_ic)|) (1 - GIoU(b_s_i,
                   sg(b_t_i))) / #pos

    over every valid prior, positive or negative (``w_i`` is 0 only for priors the head's
    own loss ignores). The modulating factor of ``loss_cls`` is not detached; the box
    weight is. The defaults are the published GFL setting (weights 1 and 4, beta 1); for
    other heads the same values are used, untuned.

    The released code computes both terms inside the GFL head's per-level loss under
    ``if len(pos_inds) > 0``, so a level without a positive in the GPU's batch gets no KD
    at all. That depends on the batch, not on the method as described: by default every
    level is distilled; ``positive_levels_only=True`` reproduces the released behaviour.

    GFL boxes are decoded in pixels here (anchor centre + integral x stride) where the
    released code uses stride units; GIoU is scale invariant, up to its eps.

    Args:
        teacher: spec of the teacher features its head reads (default ``'neck'``).
        loss_cls: classification KD loss, called as ``loss(s, t, weight, avg_factor)`` on
            (M, C) rows; default :class:`QualityFocalKDLoss` (beta 1, weight 1).
        loss_box: localisation KD loss on (M, 4) decoded boxes; default
            :class:`IoUKDLoss` (GIoU, weight 4).
        positive_levels_only: distil only the levels with a positive in the batch.
        **kwargs: schedule options of :class:`BaseDistiller`.
    """

    def __init__(self, teacher='neck',
                 loss_cls: ConfigType = dict(type='QualityFocalKDLoss', beta=1.0,
                                             loss_weight=1.0),
                 loss_box: ConfigType = dict(type='IoUKDLoss', mode='giou', loss_weight=4.0),
                 positive_levels_only: bool = False, **kwargs):
        super().__init__(teacher, **kwargs)
        self.loss_cls: nn.Module = MODELS.build(loss_cls)
        self.loss_box: nn.Module = MODELS.build(loss_box)
        self.positive_levels_only = positive_levels_only

    def check_heads(self, student_head: nn.Module, teacher_head: nn.Module) -> None:
        for role, head in (('student', student_head), ('teacher', teacher_head)):
            if not getattr(head, 'use_sigmoid_cls', False):
                raise ValueError(f"BCKD distils sigmoid (binary) classifiers; the {role}'s "
                                 f'{type(head).__name__} uses a softmax. Use KD instead.')
        if student_head.num_classes != teacher_head.num_classes:
            raise ValueError(f'BCKD: the student head has {student_head.num_classes} classes '
                             f'but the teacher has {teacher_head.num_classes}; logits can '
                             'only be distilled between the same classes.')

    def loss_names(self) -> Sequence[str]:
        return ('loss_cls', 'loss_box')

    def forward(self, student_feats: List, teacher_feats: List[Tensor],
                batch_data_samples: SampleList) -> Dict[str, Tensor]:
        student_scores, student_preds = student_feats[0], student_feats[1]
        teacher_scores, teacher_preds = self.teacher_outputs(teacher_feats)[:2]
        targets = dense_targets(self.student_head, student_scores, batch_data_samples)
        student_boxes = decode_boxes(self.student_head, student_preds, targets.priors)
        with torch.no_grad():
            teacher_boxes = decode_boxes(self.teacher_head, teacher_preds, targets.priors)
        classes = self.student_head.cls_out_channels
        # Zero, in the graph, when positive_levels_only leaves no level.
        loss_cls = sum(score.sum() for score in student_scores) * 0.
        loss_box = sum(pred.sum() for pred in student_preds) * 0.
        for level, pos in enumerate(targets.pos_masks):
            if self.positive_levels_only and not pos.any():
                continue
            s_logits = prior_rows(student_scores[level], classes)
            t_logits = prior_rows(teacher_scores[level], classes)
            weight = targets.label_weights[level].reshape(-1)
            loss_cls = loss_cls + self.loss_cls(s_logits, t_logits, weight,
                                                avg_factor=targets.num_pos)
            with torch.no_grad():
                gap = (t_logits.sigmoid() - s_logits.sigmoid()).abs().max(dim=1)[0]
            loss_box = loss_box + self.loss_box(student_boxes[level].reshape(-1, 4),
                                                teacher_boxes[level].reshape(-1, 4),
                                                gap * weight, avg_factor=targets.num_pos)
        return dict(loss_cls=loss_cls, loss_box=loss_box)
