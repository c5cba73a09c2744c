"""FitNet's hint loss (Romero et al., "FitNets: Hints for Thin Deep Nets", ICLR 2015)."""
import torch.nn.functional as F
from mmdet.models.losses.utils import weighted_loss
from torch import Tensor

from ...registry import MODELS
from .multi_level_loss import MultiLevelLoss


@weighted_loss
def feature_mse_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Squared error of each element of one level: (N, C, H, W) -> (N, C, H, W)."""
    return F.mse_loss(pred, target, reduction='none')


@MODELS.register_module()
class FeatureMSELoss(MultiLevelLoss):
    """Mean squared error per level, summed over levels::

        loss = loss_weight * sum_l mean((s_l - t_l)^2)

    The unreduced loss of a level is its (N, C, H, W) squared errors, so ``weight`` is
    per level broadcastable to (N, C, H, W), e.g. an (N, 1, H, W) spatial mask.

    Args:
        loss_weight: multiplier of the summed loss.
        reduction: ``'mean'`` averages each level over its elements, ``'sum'`` adds them
            up; either way the levels are summed.
    """

    def level_loss(self, student: Tensor, teacher: Tensor) -> Tensor:
        return feature_mse_loss(student, teacher, reduction='none')
