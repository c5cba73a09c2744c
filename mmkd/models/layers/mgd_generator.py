"""MGD's generation block (Yang et al., "Masked Generative Distillation", ECCV 2022)."""
import torch
from torch import Tensor, nn

from ...registry import MODELS


@MODELS.register_module()
class MGDGenerator(nn.Module):
    """Randomly masks positions of a feature map and regenerates the full map.

    For (N, C, H, W) input, a position (n, h, w) is zeroed in all channels with
    probability ``mask_ratio``; the masked map then goes through conv3x3 -> ReLU ->
    conv3x3 (C -> C, PyTorch's default init). The mask is drawn from torch's global RNG,
    so it follows the run's ``randomness=dict(seed=...)``; a new mask is drawn on every
    forward, also in eval mode (the generator only serves the loss).

    Args:
        channels: C, the teacher's channels (the student is aligned to them first).
        mask_ratio: ``lambda``, the share of masked positions (0.65 for one-stage and
            0.45 for two-stage detectors in the published configs).
    """

    def __init__(self, channels: int, mask_ratio: float = 0.65):
        super().__init__()
        if not 0 <= mask_ratio < 1:
            raise ValueError(f'MGDGenerator: mask_ratio must be in [0, 1), got {mask_ratio}.')
        self.mask_ratio = mask_ratio
        self.generation = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1))

    def random_mask(self, feat: Tensor) -> Tensor:
        """(N, 1, H, W) float mask of ``feat``'s (N, C, H, W): 0 at masked positions."""
        n, _, h, w = feat.shape
        draw = torch.rand((n, 1, h, w), device=feat.device)
        return (draw <= 1 - self.mask_ratio).to(feat.dtype)

    def forward(self, feat: Tensor, mask: Tensor = None) -> Tensor:
        """feat: (N, C, H, W); mask: optional (N, 1, H, W) to use instead of a random one."""
        if mask is None:
            mask = self.random_mask(feat)
        return self.generation(feat * mask)
