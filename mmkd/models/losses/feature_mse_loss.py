from typing import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import MODELS


@MODELS.register_module()
class FeatureMSELoss(nn.Module):
    """Mean squared error per level, summed over levels (FitNet's hint loss).

    Args:
        loss_weight: multiplier of the summed loss.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor]) -> Tensor:
        """student / teacher: per-level (N, C, H, W) tensors of equal shapes."""
        return self.loss_weight * sum(F.mse_loss(s, t) for s, t in zip(student, teacher))
