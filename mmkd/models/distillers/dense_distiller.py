"""Base of the distillers between the outputs of two dense heads with the same priors
(BCKD, LD): the student head's outputs are recorded during its own loss, the teacher's head
runs on the teacher's FPN features under ``no_grad``, and the student head's assignment
comes from :mod:`.dense_targets`."""
from typing import List, Sequence

import torch
from torch import Tensor, nn

from ..recorder import FeatureSpec
from .base import BaseDistiller, DistillerContext
from .dense_targets import dense_head_kind
from .kd_dense import DenseLogits
from .kd_heads import check_teacher_levels

#: What is recorded on the student: every output of its dense head, (cls_scores,
#: bbox_preds[, centernesses]), each a list of per-level (B, *, H, W) maps.
STUDENT_HEAD_OUTPUTS = FeatureSpec('bbox_head')


class DenseHeadDistiller(BaseDistiller):
    """A distiller between the student's and the teacher's dense heads on the same priors.

    :meth:`forward` gets the student head's outputs as ``student_feats`` (``[cls_scores,
    bbox_preds, ...]``, each a list of per-level maps) and the teacher's FPN levels as
    ``teacher_feats``; :meth:`teacher_outputs` runs the teacher's head on them.

    Args:
        teacher: spec of the teacher features its head reads (default ``'neck'``).
        **kwargs: schedule options of :class:`BaseDistiller`.
    """

    def __init__(self, teacher='neck', student=None, **kwargs):
        name = type(self).__name__
        if student is not None:
            raise ValueError(
                f"{name} records the outputs of the student's dense head itself; remove "
                "'student' from its config. 'teacher' names the teacher features its head "
                'reads.')
        # The student spec is the head's output, set in setup() (it has no feature levels).
        super().__init__([], teacher, **kwargs)
        self.student_kind = self.teacher_kind = None

    def setup(self, context: DistillerContext) -> None:
        super().setup(context)
        name = type(self).__name__
        self.student_kind = dense_head_kind(context.student, 'student', name)
        self.teacher_kind = dense_head_kind(context.teacher, 'teacher', name)
        student_head, teacher_head = context.student.bbox_head, context.teacher.bbox_head
        if self.student_kind != 'fcos' and not getattr(student_head, 'train_cfg', None):
            raise ValueError(f"{name} uses the student head's assignment, but its "
                             f'{type(student_head).__name__} has no train_cfg (assigner). '
                             "Give the student detector its train_cfg.")
        check_same_priors(student_head, teacher_head, name)
        self.check_heads(student_head, teacher_head)
        self.student_specs = [STUDENT_HEAD_OUTPUTS]
        check_teacher_levels(context.teacher_levels, self.teacher_specs,
                             *DenseLogits.teacher_input(context.teacher), method=name)

    def check_heads(self, student_head: nn.Module, teacher_head: nn.Module) -> None:
        """What else the method needs of the two heads (raise ValueError)."""

    @property
    def student_head(self) -> nn.Module:
        return self.context.student.bbox_head

    @property
    def teacher_head(self) -> nn.Module:
        return self.context.teacher.bbox_head

    @torch.no_grad()
    def teacher_outputs(self, teacher_feats: List[Tensor]) -> Sequence[List[Tensor]]:
        """The teacher head's outputs (cls_scores, bbox_preds, ...) on its own features,
        in the head's current (eval) mode."""
        head = self.teacher_head
        return head(tuple(teacher_feats[:head.prior_generator.num_levels]))


def check_same_priors(student_head: nn.Module, teacher_head: nn.Module, method: str) -> None:
    """Both heads place the same priors on the same levels (compared on a 2x2 grid per
    level), so prior ``i`` of a level is the same box or point on both sides.

    Raises:
        ValueError: different levels, strides, anchors per location or anchor shapes.
    """
    layouts = []
    for head in (student_head, teacher_head):
        generator = head.prior_generator
        layouts.append([generator.single_level_grid_priors((2, 2), level, device='cpu')
                        for level in range(generator.num_levels)])
    student, teacher = layouts
    if len(student) != len(teacher) or not all(
            s.shape == t.shape and torch.equal(s, t) for s, t in zip(student, teacher)):
        def describe(head, priors):
            return (f'{type(head).__name__}: {len(priors)} levels, strides '
                    f'{[int(s[0]) for s in head.prior_generator.strides]}, '
                    f'{head.prior_generator.num_base_priors[0]} prior(s) per location')
        raise ValueError(
            f"{method} compares the two heads' outputs prior by prior, so both must place "
            f"the same priors: the student's {describe(student_head, student)}, the "
            f"teacher's {describe(teacher_head, teacher)}"
            + ('' if len(student) != len(teacher) else ' (or other anchor sizes)')
            + ". Use the same prior generator (anchor_generator) on both, or a feature "
            "distiller on 'neck' (PKD, FGD).")


def prior_rows(level: Tensor, channels: int) -> Tensor:
    """A level's (B, A * K, H, W) outputs as (B * H * W * A, K) rows: one row per prior, in
    the head's prior order (that of :func:`~.dense_targets.dense_targets`, flattened)."""
    return level.permute(0, 2, 3, 1).reshape(-1, channels)
