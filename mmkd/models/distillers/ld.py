"""LD (Zheng et al., "Localization Distillation for Dense Object Detection", CVPR 2022):
the student's box-edge distributions of a GFL head learn the teacher's."""
from typing import Dict, List

import torch
from mmdet.structures import SampleList
from mmdet.utils import ConfigType
from torch import Tensor, nn

from ...registry import MODELS
from .dense_distiller import DenseHeadDistiller, prior_rows
from .dense_targets import dense_targets


@MODELS.register_module()
class LD(DenseHeadDistiller):
    """LD's main-region distillation between two GFL heads (``GFLHead``), as mmdet's
    ``LDHead`` computes it.

    A GFL head predicts each box edge as a distribution over ``n + 1`` bins (``reg_max =
    n``, 16 in mmdet). On every positive ``i`` of the student head's own (ATSS) assignment,
    for each of its four edges ``e``::

        loss = 0.25 * sum_levels sum_{i, e} w_i T^2 KL(softmax(t_ie / T) || softmax(s_ie / T))
               / (n + 1) / 4

    with ``T = 10`` and ``w_i = sg(max_c sigma(s_ic))``, the student's own detached top
    class score. Each level's sum is divided by 4 (the edges), not by the number of
    positives (the published normaliser; GFL's own box losses are divided by it). A level
    without positives adds 0. The teacher's distributions come from its head on its own FPN
    features, under ``no_grad``.

    Only main-region LD is implemented (mmdet's configs); the official repository's
    valuable localisation region (VLR) and its classification KD are not.

    Args:
        teacher: spec of the teacher features its head reads (default ``'neck'``).
        loss: KD loss on (M, n + 1) edge distributions, called with (M,) weights and
            ``avg_factor=4``; default :class:`LocalizationKDLoss` (T 10, mean over the bins,
            weight 0.25).
        **kwargs: schedule options of :class:`BaseDistiller`.
    """

    def __init__(self, teacher='neck',
                 loss: ConfigType = dict(type='LocalizationKDLoss', temperature=10.0,
                                         bin_reduction='mean', loss_weight=0.25),
                 **kwargs):
        super().__init__(teacher, **kwargs)
        self.loss: nn.Module = MODELS.build(loss)

    def check_heads(self, student_head: nn.Module, teacher_head: nn.Module) -> None:
        for role, kind, head in (('student', self.student_kind, student_head),
                                 ('teacher', self.teacher_kind, teacher_head)):
            if kind != 'gfl':
                raise ValueError(
                    f"LD distils box-edge distributions, which only GFL heads (GFLHead) "
                    f"predict; the {role} has {type(head).__name__}. Use BCKD or KD for "
                    'other dense heads.')
        if student_head.reg_max != teacher_head.reg_max:
            raise ValueError(f'LD: the student head has reg_max {student_head.reg_max} and '
                             f'the teacher {teacher_head.reg_max}; the distributions must have '
                             'the same bins.')

    def forward(self, student_feats: List, teacher_feats: List[Tensor],
                batch_data_samples: SampleList) -> Dict[str, Tensor]:
        student_scores, student_preds = student_feats[0], student_feats[1]
        teacher_preds = self.teacher_outputs(teacher_feats)[1]
        head = self.student_head
        targets = dense_targets(head, student_scores, batch_data_samples)
        bins = head.reg_max + 1
        loss = sum(pred.sum() for pred in student_preds) * 0.  # in the graph without positives
        for level, pos in enumerate(targets.pos_masks):
            if not pos.any():
                continue
            pos = pos.reshape(-1)
            student_edges = prior_rows(student_preds[level], 4 * bins)[pos].reshape(-1, bins)
            teacher_edges = prior_rows(teacher_preds[level], 4 * bins)[pos].reshape(-1, bins)
            with torch.no_grad():
                score = prior_rows(student_scores[level], head.cls_out_channels).sigmoid()
                weight = score.max(dim=1)[0][pos].repeat_interleave(4)
            loss = loss + self.loss(student_edges, teacher_edges, weight, avg_factor=4.0)
        return dict(loss=loss)
