"""KD's part for RoI heads: the teacher's box head scores the student's sampled RoIs, at
one stage (Faster/Mask R-CNN) or at the chosen stages of a cascade (Cascade R-CNN)."""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from ..recorder import FeatureSpec
from .kd_heads import FEATURE_DISTILLERS, check_same_classes

#: What KD records on a single-stage RoI student: the sampled RoIs (N, 5) and their logits.
STUDENT_ROIS = FeatureSpec('roi_head.bbox_roi_extractor', 1, source='input')
STUDENT_LOGITS = FeatureSpec('roi_head.bbox_head', 0)


def check_roi_head(detector: nn.Module, role: str) -> nn.Module:
    """The detector's RoI head, checked to have box branches whose RoIs can be recorded."""
    roi_head = detector.roi_head
    if getattr(roi_head, 'bbox_roi_extractor', None) is None:
        raise ValueError(f'KD: the {role} ({type(detector).__name__}) has a box head without '
                         f'roi_head.bbox_roi_extractor. {FEATURE_DISTILLERS}')
    if getattr(roi_head, 'with_mask', False) and getattr(roi_head, 'share_roi_extractor', False):
        raise ValueError(
            f"KD: the {role}'s mask branch shares the box RoI extractor, so the recorded "
            'RoIs would be the mask RoIs. Give the roi_head its own mask_roi_extractor.')
    return roi_head


class RoILogits:
    """The class logits two RoI heads give the same RoIs: the student's sampled RoIs
    (N, 5) ``[batch_index, x1, y1, x2, y2]`` and its logits (N, num_classes + 1) are
    recorded; the teacher's ``bbox_roi_extractor`` (+ ``shared_head``) + ``bbox_head``
    score the RoIs on the teacher's features. A cascade does this at every chosen stage
    ``i`` (the teacher's stage-``i`` head on the student's stage-``i`` RoIs), the stage
    losses summed with the student cascade's ``stage_loss_weights``.

    Args:
        student / teacher: the two detectors, both with a single-stage RoI head
            (``cascade=False``) or both with a cascade.
        cascade: whether they are cascades.
        stages: cascade stages to distil (0-based); ``None`` takes all.

    Raises:
        ValueError: a box head whose RoIs cannot be recorded, stages outside both
            cascades, or different classes.
    """

    sigmoid = False  # mmdet's box heads classify with a softmax over classes + background

    def __init__(self, student: nn.Module, teacher: nn.Module, cascade: bool,
                 stages: Optional[Sequence[int]] = None):
        student_head = check_roi_head(student, 'student')
        teacher_head = check_roi_head(teacher, 'teacher')
        if not cascade:
            check_same_classes(student_head.bbox_head, teacher_head.bbox_head, 'box head')
            self.stages: List[Optional[int]] = [None]
            self.stage_weights = [1.]
            self.student_specs = [STUDENT_ROIS, STUDENT_LOGITS]
            return
        s_stages, t_stages = student_head.num_stages, teacher_head.num_stages
        stages = list(range(s_stages)) if stages is None else list(stages)
        if not stages or any(not 0 <= i < min(s_stages, t_stages) for i in stages):
            raise ValueError(
                f'KD: stages {stages} must be a non-empty list of cascade stages that both '
                f'detectors have (student {s_stages}, teacher {t_stages}: 0..'
                f'{min(s_stages, t_stages) - 1}).')
        for i in stages:
            check_same_classes(student_head.bbox_head[i], teacher_head.bbox_head[i],
                               f'stage-{i} box head')
        self.stages = stages
        self.stage_weights = [float(student_head.stage_loss_weights[i]) for i in stages]
        self.student_specs = [spec for i in stages for spec in (
            FeatureSpec(f'roi_head.bbox_roi_extractor.{i}', 1, source='input'),
            FeatureSpec(f'roi_head.bbox_head.{i}', 0))]

    def teacher_input(self, teacher: nn.Module) -> Tuple[str, List[int], int]:
        """What the teacher's RoI extractor reads: (name, level strides, channels)."""
        extractor = teacher.roi_head.bbox_roi_extractor
        if self.stages[0] is not None:
            extractor = extractor[self.stages[0]]
        return 'bbox_roi_extractor', list(extractor.featmap_strides), extractor.out_channels

    @staticmethod
    @torch.no_grad()
    def teacher_logits(teacher: nn.Module, teacher_feats: List[Tensor], rois: Tensor,
                       stage: Optional[int] = None) -> Tensor:
        """The teacher's class logits (N, num_classes + 1) for ``rois`` (N, 5), from its
        box head (of cascade stage ``stage``)."""
        head = teacher.roi_head
        extractor, bbox_head = head.bbox_roi_extractor, head.bbox_head
        if stage is not None:
            extractor, bbox_head = extractor[stage], bbox_head[stage]
        roi_feats = extractor(tuple(teacher_feats[:extractor.num_inputs]), rois)
        if getattr(head, 'with_shared_head', False):
            roi_feats = head.shared_head(roi_feats)
        return bbox_head(roi_feats)[0]

    def distil(self, loss: nn.Module, student_feats: List[Tensor],
               teacher_feats: List[Tensor], teacher: nn.Module) -> Tensor:
        """The stage-weighted sum of ``loss(student logits, teacher logits)``;
        ``student_feats`` holds (RoIs, logits) per stage, as :attr:`student_specs`."""
        total = 0.
        for index, (stage, weight) in enumerate(zip(self.stages, self.stage_weights)):
            rois, student_logits = student_feats[2 * index:2 * index + 2]
            teacher_logits = self.teacher_logits(teacher, teacher_feats, rois, stage)
            total = total + weight * loss(student_logits, teacher_logits)
        return total
