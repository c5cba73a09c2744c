"""PKD's loss (Cao et al., "PKD: General Distillation Framework for Object Detectors via
Pearson Correlation Coefficient", NeurIPS 2022)."""
from typing import List, Optional, Sequence, Union

import torch.nn.functional as F
from mmdet.models.losses.utils import weighted_loss
from torch import Tensor, nn

from ...registry import MODELS
from .utils import (LevelWeights, check_levels, check_reduction, check_weight,
                    resolve_reduction, weight_reduce_levels)


def standardize_channels(feat: Tensor, eps: float = 1e-6) -> Tensor:
    """(N, C, H, W) -> each channel minus its mean, over its std (unbiased), where both
    are taken over the whole batch (N, H, W) at once, not per image."""
    flat = feat.transpose(0, 1).flatten(1)  # (C, N*H*W)
    mean = flat.mean(dim=1).view(1, -1, 1, 1)
    std = flat.std(dim=1).view(1, -1, 1, 1)
    return (feat - mean) / (std + eps)


@weighted_loss
def pkd_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Half the squared error of the channel-standardised features of one level:
    (N, C, H, W) -> (N, C, H, W). An empty batch has no statistics and gives an empty
    result."""
    if pred.numel() == 0:
        return F.mse_loss(pred, target, reduction='none')
    return F.mse_loss(standardize_channels(pred), standardize_channels(target),
                      reduction='none') * 0.5


@MODELS.register_module()
class PKDLoss(nn.Module):
    """Mean squared error of channel-standardised features, halved, summed over levels::

        loss = loss_weight * sum_l mean((z(s_l) - z(t_l))^2) / 2

    with ``z`` = :func:`standardize_channels`. Up to the eps, a level's loss is
    ``(M - 1) / M * mean_c (1 - r_c)`` where ``r_c`` is the Pearson correlation of
    channel ``c`` of student and teacher over its ``M = N*H*W`` values: the loss only asks
    the student to correlate with the teacher, not to match its scale or offset.

    Args:
        loss_weight: multiplier of the summed loss (6 for Faster R-CNN, 10 for RetinaNet
            in the published configs).
        resize_student: when a level's spatial sizes differ, resize the student to the
            teacher's (bilinear); ``False`` resizes the teacher to the student's.
        reduction: ``'mean'`` averages each level over its elements, ``'sum'`` adds them
            up; either way the levels are summed.
    """

    def __init__(self, loss_weight: float = 1.0, resize_student: bool = True,
                 reduction: str = 'mean'):
        super().__init__()
        self.loss_weight = loss_weight
        self.resize_student = resize_student
        self.reduction = check_reduction('PKDLoss', reduction)

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor],
                weight: LevelWeights = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Union[Tensor, List[Tensor]]:
        """
        Args:
            student / teacher: per-level (N, C, H, W) tensors of equal N and C.
            weight: per level, a weight of each standardised element, broadcastable to
                the compared (N, C, H, W) shape (the teacher's with ``resize_student``).
                The standardisation itself is unweighted.
            avg_factor: divides each level's weighted sum instead of its element count
                (``'mean'``), i.e. the result is the weighted sum of all levels over it.
            reduction_override: ``'none'``, ``'mean'`` or ``'sum'`` for this call.

        Returns:
            The loss, or for ``'none'`` the list of per-level (N, C, H, W) weighted
            half squared errors (times ``loss_weight``).
        """
        reduction = resolve_reduction('PKDLoss', self.reduction, reduction_override)
        check_levels('PKDLoss', student=student, teacher=teacher, weight=weight)
        losses = []
        for level, (s, t) in enumerate(zip(student, teacher)):
            if s.shape[2:] != t.shape[2:]:
                if self.resize_student:
                    s = F.interpolate(s, size=t.shape[2:], mode='bilinear')
                else:
                    t = F.interpolate(t, size=s.shape[2:], mode='bilinear')
            if s.shape != t.shape:
                raise ValueError(f'PKDLoss level {level}: student {tuple(s.shape)} and '
                                 f'teacher {tuple(t.shape)} features differ in N or C.')
            loss = pkd_loss(s, t, reduction='none')
            if weight is not None:
                check_weight(f'PKDLoss level {level}', weight[level], loss.shape,
                             f'a weight broadcastable to {tuple(loss.shape)}')
            losses.append(loss)
        loss = weight_reduce_levels(losses, weight, reduction, avg_factor)
        if reduction == 'none':
            return [self.loss_weight * level_loss for level_loss in loss]
        return self.loss_weight * loss
