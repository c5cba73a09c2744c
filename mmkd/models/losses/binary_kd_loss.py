"""Knowledge distillation for sigmoid classifiers (one binary classifier per class)."""
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import MODELS


@MODELS.register_module()
class BinaryKDLoss(nn.Module):
    """``loss_weight * T^2 * BCE(sigmoid(s / T), sigmoid(t / T))``, summed over the
    classes of a row and averaged over the rows.

    The counterpart of :class:`KDLoss` for the sigmoid classifiers of dense heads
    (RetinaNet, ATSS, GFL, FCOS, RTMDet), whose classes are independent binary
    problems: each student probability is trained towards the teacher's, with
    ``sigmoid(t / T)`` (teacher detached) as soft target. Its minimum, reached when the
    two agree, is the binary entropy of the teacher's probabilities, not 0. ``T^2``
    keeps the gradient's magnitude independent of the temperature, as in :class:`KDLoss`.

    Args:
        temperature: ``T`` (> 0), dividing both sides' logits.
        loss_weight: multiplier of the loss.
        reduction: ``'mean'`` averages the per-row sums over the rows (priors),
            ``'sum'`` adds them up.
    """

    def __init__(self, temperature: float = 1.0, loss_weight: float = 1.0,
                 reduction: str = 'mean'):
        super().__init__()
        if not temperature > 0:
            raise ValueError(f'BinaryKDLoss temperature must be > 0, got {temperature!r}')
        if reduction not in ('mean', 'sum'):
            raise ValueError(f"BinaryKDLoss reduction must be 'mean' or 'sum', got {reduction!r}")
        self.temperature = float(temperature)
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(self, student_logits: Tensor, teacher_logits: Tensor) -> Tensor:
        """student_logits / teacher_logits: (N, num_classes) logits of the same N rows
        (for a dense head: the same priors)."""
        if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
            raise ValueError(
                'BinaryKDLoss needs (N, C) student and teacher logits of the same shape, got '
                f'{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}: '
                'teacher and student must score the same priors with the same classes.')
        if student_logits.shape[0] == 0:
            return student_logits.sum() * 0.
        t = self.temperature
        target = (teacher_logits.detach() / t).sigmoid()
        bce = F.binary_cross_entropy_with_logits(
            student_logits / t, target, reduction='none').sum(dim=1)
        bce = bce.mean() if self.reduction == 'mean' else bce.sum()
        return self.loss_weight * t * t * bce
