"""MGD's loss (Yang et al., "Masked Generative Distillation", ECCV 2022)."""
from typing import Sequence

from torch import Tensor, nn

from ...registry import MODELS


@MODELS.register_module()
class MGDLoss(nn.Module):
    """Squared error of the generated features to the teacher's, per image, summed over
    levels::

        loss = loss_weight * sum_l sum_{c,h,w,n} (g_l - t_l)^2 / N

    where ``g_l`` is the generator's output from the masked student feature
    (:class:`MGDGenerator`). The sum, not a mean, over C*H*W is why the weights are small.

    Args:
        loss_weight: ``alpha``: 2e-5 for one-stage and 5e-7 for two-stage detectors in
            the published configs.
    """

    def __init__(self, loss_weight: float = 2e-5):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, generated: Sequence[Tensor], teacher: Sequence[Tensor]) -> Tensor:
        """generated / teacher: per-level (N, C, H, W) tensors of equal shapes."""
        total = 0.
        for g, t in zip(generated, teacher):
            if g.shape != t.shape:
                raise ValueError(f'MGDLoss: generated {tuple(g.shape)} and teacher '
                                 f'{tuple(t.shape)} features differ in shape.')
            total = total + (g - t).pow(2).sum() / g.shape[0]
        return self.loss_weight * total
