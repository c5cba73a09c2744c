"""PKD's loss (Cao et al., "PKD: General Distillation Framework for Object Detectors via
Pearson Correlation Coefficient", NeurIPS 2022)."""
from typing import Tuple

import torch.nn.functional as F
from mmdet.models.losses.utils import weighted_loss
from torch import Tensor

from ...registry import MODELS
from .multi_level_loss import MultiLevelLoss


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
class PKDLoss(MultiLevelLoss):
    """Mean squared error of channel-standardised features, halved, summed over levels::

        loss = loss_weight * sum_l mean((z(s_l) - z(t_l))^2) / 2

    with ``z`` = :func:`standardize_channels`. Up to the eps, a level's loss is
    ``(M - 1) / M * mean_c (1 - r_c)`` where ``r_c`` is the Pearson correlation of
    channel ``c`` of student and teacher over its ``M = N*H*W`` values: the loss only asks
    the student to correlate with the teacher, not to match its scale or offset.

    The unreduced loss of a level is the (N, C, H, W) half squared errors at the compared
    size (the teacher's with ``resize_student``), so ``weight`` is per level
    broadcastable to that; the standardisation itself is unweighted.

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
        super().__init__(loss_weight, reduction)
        self.resize_student = resize_student

    def align(self, student: Tensor, teacher: Tensor) -> Tuple[Tensor, Tensor]:
        if student.shape[2:] != teacher.shape[2:]:
            if self.resize_student:
                student = F.interpolate(student, size=teacher.shape[2:], mode='bilinear')
            else:
                teacher = F.interpolate(teacher, size=student.shape[2:], mode='bilinear')
        return student, teacher

    def level_loss(self, student: Tensor, teacher: Tensor) -> Tensor:
        return pkd_loss(student, teacher, reduction='none')
