from typing import Sequence

import torch
from torch import Tensor, nn

from ...registry import MODELS


@MODELS.register_module()
class ImitationLoss(nn.Module):
    """FGFI's masked feature imitation loss over all levels together::

        loss = loss_weight * sum_l sum_{(n, h, w) in mask_l} sum_c (s - t)^2 / (2 * Np)

    where ``Np`` is the number of positive locations of all levels and images (channels
    not counted). With no positive location the loss is 0 (and keeps the graph).
    Computed in float32 so that mixed-precision features cannot overflow the sums.

    Args:
        loss_weight: multiplier (``lambda``; 0.01 in the paper for one 512-channel VGG map).
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor],
                masks: Sequence[Tensor]) -> Tensor:
        """student / teacher: per-level (N, C, H, W) tensors of equal shapes;
        masks: per-level (N, H, W) bool tensors."""
        if not (len(student) == len(teacher) == len(masks)):
            raise ValueError(f'ImitationLoss got {len(student)} student, {len(teacher)} '
                             f'teacher and {len(masks)} mask levels; they must agree.')
        total = student[0].new_zeros((), dtype=torch.float32)
        num_pos = 0
        for level, (s, t, m) in enumerate(zip(student, teacher, masks)):
            if s.shape != t.shape or s.shape[:1] + s.shape[2:] != m.shape:
                raise ValueError(f'ImitationLoss level {level}: student {tuple(s.shape)}, '
                                 f'teacher {tuple(t.shape)} and mask {tuple(m.shape)} do not '
                                 'match as (N, C, H, W), (N, C, H, W), (N, H, W).')
            squared = (s.float() - t.float()).pow(2).sum(dim=1)  # (N, H, W)
            total = total + squared[m.bool()].sum()
            num_pos += int(m.sum())
        return self.loss_weight * total / (2 * max(num_pos, 1))
