"""KD's part for dense heads (RetinaNet, ATSS, GFL, FCOS, RTMDet, ...): two heads with the
same prior layout score the same priors, so every prior's class scores are distilled."""
from typing import List, Tuple

import torch
from torch import Tensor, nn

from ..recorder import FeatureSpec
from .kd_heads import FEATURE_DISTILLERS, check_same_classes

#: What KD records on a dense student: the per-level class scores (output 0 of the head).
STUDENT_DENSE_SCORES = FeatureSpec('bbox_head', 0)


class DenseLogits:
    """The class scores two dense heads give the same priors: the student head's
    per-level scores (B, A * C, H, W) are recorded, the teacher's head runs on the
    teacher's features, and both are compared as (B * H * W * A, C) rows over all levels
    (C = classes, + 1 for softmax classifiers).

    Args:
        student / teacher: the two detectors, each with a ``bbox_head`` that has a
            ``prior_generator``.

    Raises:
        ValueError: different classes, priors, or kinds of classifier.
    """

    student_specs = [STUDENT_DENSE_SCORES]

    def __init__(self, student: nn.Module, teacher: nn.Module):
        student_head, teacher_head = student.bbox_head, teacher.bbox_head
        check_same_classes(student_head, teacher_head, 'dense head')
        layouts = []
        for head in (student_head, teacher_head):
            generator = head.prior_generator
            priors = [generator.single_level_grid_priors((2, 2), level, device='cpu')
                      for level in range(generator.num_levels)]
            layouts.append((getattr(head, 'use_sigmoid_cls', None), priors,
                            getattr(head, 'cls_out_channels', None)))
        (s_sigmoid, s_priors, s_out), (t_sigmoid, t_priors, t_out) = layouts
        same_priors = len(s_priors) == len(t_priors) and all(
            s.shape == t.shape and torch.equal(s, t) for s, t in zip(s_priors, t_priors))
        if not same_priors or s_sigmoid != t_sigmoid or s_out != t_out or s_sigmoid is None:
            describe = (lambda head, priors: f'{type(head).__name__}: {len(priors)} levels, '
                        f'{[p.shape[0] // 4 for p in priors]} priors per location')
            raise ValueError(
                f"KD: the student's dense head ({describe(student_head, s_priors)}) and the "
                f"teacher's ({describe(teacher_head, t_priors)}) do not score the same "
                'priors with the same kind of classifier, so there are no per-prior logits '
                f'to compare. {FEATURE_DISTILLERS}')
        self.sigmoid = bool(s_sigmoid)
        self.classes = s_out

    @staticmethod
    def teacher_input(teacher: nn.Module) -> Tuple[str, List[int], int]:
        """What the teacher's dense head reads: (name, level strides, channels)."""
        head = teacher.bbox_head
        strides = [int(stride[0]) for stride in head.prior_generator.strides]
        return f'dense head ({type(head).__name__})', strides, head.in_channels

    @staticmethod
    @torch.no_grad()
    def teacher_scores(teacher: nn.Module, teacher_feats: List[Tensor]) -> List[Tensor]:
        """The teacher dense head's per-level class scores (B, A * C, H, W)."""
        head = teacher.bbox_head
        return list(head(tuple(teacher_feats[:head.prior_generator.num_levels]))[0])

    def distil(self, loss: nn.Module, student_feats: List, teacher_feats: List[Tensor],
               teacher: nn.Module) -> Tensor:
        """``loss`` between the student's and the teacher's prior rows;
        ``student_feats[0]`` is the student head's list of per-level scores."""
        teacher_scores = self.teacher_scores(teacher, teacher_feats)
        return loss(_prior_rows(student_feats[0], self.classes),
                    _prior_rows(teacher_scores, self.classes))


def _prior_rows(scores: List[Tensor], classes: int) -> Tensor:
    """Per-level (B, A * C, H, W) scores as (B * H * W * A, C) rows, levels concatenated."""
    return torch.cat([level.permute(0, 2, 3, 1).reshape(-1, classes) for level in scores])
