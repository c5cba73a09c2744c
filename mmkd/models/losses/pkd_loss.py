"""PKD's loss (Cao et al., "PKD: General Distillation Framework for Object Detectors via
Pearson Correlation Coefficient", NeurIPS 2022)."""
from typing import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import MODELS


def standardize_channels(feat: Tensor, eps: float = 1e-6) -> Tensor:
    """(N, C, H, W) -> each channel minus its mean, over its std (unbiased), where both
    are taken over the whole batch (N, H, W) at once, not per image."""
    flat = feat.transpose(0, 1).flatten(1)  # (C, N*H*W)
    mean = flat.mean(dim=1).view(1, -1, 1, 1)
    std = flat.std(dim=1).view(1, -1, 1, 1)
    return (feat - mean) / (std + eps)


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
    """

    def __init__(self, loss_weight: float = 1.0, resize_student: bool = True):
        super().__init__()
        self.loss_weight = loss_weight
        self.resize_student = resize_student

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor]) -> Tensor:
        """student / teacher: per-level (N, C, H, W) tensors of equal N and C."""
        total = 0.
        for s, t in zip(student, teacher):
            if s.shape[2:] != t.shape[2:]:
                if self.resize_student:
                    s = F.interpolate(s, size=t.shape[2:], mode='bilinear')
                else:
                    t = F.interpolate(t, size=s.shape[2:], mode='bilinear')
            total = total + F.mse_loss(standardize_channels(s), standardize_channels(t)) / 2
        return self.loss_weight * total
