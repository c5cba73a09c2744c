"""Knowledge distillation for sigmoid classifiers (one binary classifier per class)."""
import torch.nn.functional as F
from mmdet.models.losses.utils import weighted_loss
from torch import Tensor

from ...registry import MODELS
from .kd_loss import LogitKDLoss


@weighted_loss
def binary_kd_loss(pred: Tensor, target: Tensor, temperature: float = 1.0) -> Tensor:
    """``T^2 * sum_c BCE(sigmoid(pred / T), sigmoid(target / T))`` of each row.

    Args:
        pred: (N, C) student logits.
        target: (N, C) teacher logits, detached here: the teacher is the target.
        temperature: ``T`` (> 0), dividing both sides' logits.

    Returns:
        (N,) per-row losses, summed over the classes (``weighted_loss`` adds ``weight``,
        ``reduction``, ``avg_factor``).
    """
    soft_target = (target.detach() / temperature).sigmoid()
    bce = F.binary_cross_entropy_with_logits(pred / temperature, soft_target,
                                             reduction='none').sum(dim=1)
    return bce * (temperature * temperature)


@MODELS.register_module()
class BinaryKDLoss(LogitKDLoss):
    """``loss_weight * T^2 * BCE(sigmoid(s / T), sigmoid(t / T))``, summed over the
    classes of a row and averaged over the rows.

    The counterpart of :class:`KDLoss` for the sigmoid classifiers of dense heads
    (RetinaNet, ATSS, GFL, FCOS, RTMDet), whose classes are independent binary
    problems: each student probability is trained towards the teacher's, with
    ``sigmoid(t / T)`` (teacher detached) as soft target. Its minimum, reached when the
    two agree, is the binary entropy of the teacher's probabilities, not 0. ``T^2``
    keeps the gradient's magnitude independent of the temperature, as in :class:`KDLoss`.
    The rows are a dense head's priors (see :class:`LogitKDLoss` for the arguments).
    """

    row_loss = staticmethod(binary_kd_loss)
    rows = 'priors'
