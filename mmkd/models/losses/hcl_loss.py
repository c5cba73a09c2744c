"""HCL, the hierarchical context loss of ReviewKD (Chen et al., "Distilling Knowledge via
Knowledge Review", CVPR 2021)."""
from typing import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import MODELS
from .utils import full_precision


def hcl_loss(student: Tensor, teacher: Tensor, pool_sizes: Sequence[int] = (4, 2, 1)) -> Tensor:
    """HCL between two (N, C, H, W) tensors of one level, a scalar.

    ``mse(s, t)`` with weight 1, plus, for each pool size ``l`` in order with ``l < H``,
    ``mse(pool_l(s), pool_l(t))`` (adaptive average pooling to l x l) with a weight halved
    at each used size (1/2, 1/4, ...); the weighted sum is divided by the sum of weights.
    Sizes ``l >= H`` are skipped (no halving). An empty batch gives 0 (in the graph), not
    the NaN of an empty mean.
    """
    if student.numel() == 0:
        return (student - teacher).sum()
    loss = F.mse_loss(student, teacher)
    weight, total = 1., 1.
    for size in pool_sizes:
        if size >= student.shape[2]:
            continue
        weight /= 2
        loss = loss + weight * F.mse_loss(F.adaptive_avg_pool2d(student, size),
                                          F.adaptive_avg_pool2d(teacher, size))
        total += weight
    return loss / total


@MODELS.register_module()
class HCLLoss(nn.Module):
    """Hierarchical context loss: :func:`hcl_loss` per level, summed over levels.

    There is no ``weight`` / ``avg_factor`` / ``reduction``: a level's value averages
    mean squared errors at several pooled resolutions, so no element of the input is
    the unit of the loss that a weight or a normaliser would refer to; weighting
    elements would mean pooling the weights too, which is not ReviewKD's loss.

    Args:
        pool_sizes: output sizes of the pyramid pooling, used in this order.
        loss_weight: multiplier of the summed loss.
    """

    def __init__(self, pool_sizes: Sequence[int] = (4, 2, 1), loss_weight: float = 1.0):
        super().__init__()
        pool_sizes = tuple(pool_sizes)
        if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1
                   for s in pool_sizes):
            raise ValueError(f'HCLLoss: pool_sizes must be positive ints, e.g. (4, 2, 1); '
                             f'got {pool_sizes!r}')
        self.pool_sizes = pool_sizes
        self.loss_weight = loss_weight

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor]) -> Tensor:
        """student / teacher: per-level (N, C, H, W) tensors of equal shapes, compared in
        float32 (see :func:`~.utils.full_precision`)."""
        if len(student) != len(teacher) or not student:
            raise ValueError(f'HCLLoss: got {len(student)} student and {len(teacher)} teacher '
                             'level(s); give the same non-zero number of levels.')
        for level, (s, t) in enumerate(zip(student, teacher)):
            if s.dim() != 4 or s.shape != t.shape:
                raise ValueError(f'HCLLoss: level {level} has student shape {tuple(s.shape)} '
                                 f'and teacher shape {tuple(t.shape)}; both must be the same '
                                 '(N, C, H, W).')
        return self.loss_weight * sum(hcl_loss(*full_precision(s, t), self.pool_sizes)
                                      for s, t in zip(student, teacher))
