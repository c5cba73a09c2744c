"""MGD's loss (Yang et al., "Masked Generative Distillation", ECCV 2022)."""
from mmdet.models.losses.utils import weighted_loss
from torch import Tensor

from ...registry import MODELS
from .multi_level_loss import MultiLevelLoss


@weighted_loss
def mgd_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Squared error summed over each image of one level: (N, C, H, W) -> (N,)."""
    return (pred - target).pow(2).flatten(1).sum(dim=1)


@MODELS.register_module()
class MGDLoss(MultiLevelLoss):
    """Squared error of the generated features to the teacher's, per image, summed over
    levels::

        loss = loss_weight * sum_l sum_{c,h,w,n} (g_l - t_l)^2 / N

    where ``g_l`` is the generator's output from the masked student feature
    (:class:`MGDGenerator`), passed as the student. The sum, not a mean, over C*H*W is why
    the weights are small. The unreduced loss of a level is the (N,) per-image sums, so
    ``weight`` is per level an (N,) weight of each image.

    Args:
        loss_weight: ``alpha``: 2e-5 for one-stage and 5e-7 for two-stage detectors in
            the published configs.
        reduction: ``'mean'`` averages each level's per-image sums over the N images,
            ``'sum'`` adds them up; either way the levels are summed.
    """

    def __init__(self, loss_weight: float = 2e-5, reduction: str = 'mean'):
        super().__init__(loss_weight, reduction)

    def level_loss(self, student: Tensor, teacher: Tensor) -> Tensor:
        return mgd_loss(student, teacher, reduction='none')
