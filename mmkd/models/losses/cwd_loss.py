"""CWD's loss (Shu et al., "Channel-wise Knowledge Distillation for Dense Prediction",
ICCV 2021)."""
import torch.nn.functional as F
from mmdet.models.losses.utils import weighted_loss
from torch import Tensor

from ...registry import MODELS
from .multi_level_loss import MultiLevelLoss


@weighted_loss
def channel_wise_divergence(pred: Tensor, target: Tensor, tau: float = 1.0) -> Tensor:
    """``tau^2 * KL(p_t || p_s)`` of each channel of each image of one level, where
    ``p = softmax_hw(x / tau)``: (N, C, H, W) -> (N, C)."""
    log_p_s = F.log_softmax(pred.flatten(2) / tau, dim=2)  # (N, C, H*W)
    log_p_t = F.log_softmax(target.flatten(2) / tau, dim=2)
    return (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=2) * tau**2


@MODELS.register_module()
class ChannelWiseDivergenceLoss(MultiLevelLoss):
    """KL divergence between the spatial distributions of each channel, summed over levels.

    Each channel of each image becomes a distribution over its ``H*W`` positions,
    ``p = softmax_hw(x / tau)``; per level::

        loss_l = tau^2 * sum_{n,c} KL(p_t[n, c] || p_s[n, c]) / (N * C)

    and ``loss = loss_weight * sum_l loss_l``. The student is pushed hardest where the
    teacher's channel is most active (the KL is weighted by ``p_t``). The unreduced loss
    of a level is the (N, C) divergences, so ``weight`` is per level broadcastable to
    (N, C): a weight of each channel of each image.

    Args:
        tau: softmax temperature (1 in the published configs).
        loss_weight: multiplier of the summed loss (10 on FPN levels in MMRazor's configs).
        reduction: ``'mean'`` averages each level over its N*C channel distributions,
            ``'sum'`` adds them up; either way the levels are summed.
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0, reduction: str = 'mean'):
        super().__init__(loss_weight, reduction)
        if tau <= 0:
            raise ValueError(f'ChannelWiseDivergenceLoss: tau must be > 0, got {tau}.')
        self.tau = tau

    def level_loss(self, student: Tensor, teacher: Tensor) -> Tensor:
        return channel_wise_divergence(student, teacher, reduction='none', tau=self.tau)
