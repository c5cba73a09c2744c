"""ABF, the attention based fusion module of ReviewKD (Chen et al., CVPR 2021)."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from torch import Tensor, nn

from ...registry import MODELS


@MODELS.register_module()
class ABF(nn.Module):
    """Transforms one student level and fuses it with the residual from the deeper level.

    ``x`` (N, in, H, W) -> 1x1 conv + norm -> ``own`` (N, mid, H, W). With ``fuse``, the
    residual (N, mid, h, w) from the next deeper level is resized to (H, W) by nearest
    interpolation, a 1x1 conv + sigmoid on ``cat([own, residual])`` gives two (N, 1, H, W)
    attention maps ``a0, a1`` and ``fused = own * a0 + residual * a1``; without ``fuse``
    (the deepest level), ``fused = own``. A 3x3 conv + norm maps ``fused`` to ``out``
    channels; that output is compared with the teacher.

    Args:
        in_channels: channels of the student feature.
        mid_channels: channels of the fused feature handed to the next shallower level;
            the same for every level of one chain.
        out_channels: channels of the output, i.e. of the teacher feature.
        fuse: fuse the residual of a deeper level (``False`` only for the deepest level).
        norm_cfg: mmcv norm layer after both convs (``dict(type='SyncBN')`` for
            multi-GPU runs).

    Returns (from :meth:`forward`): ``(out, fused)`` of shapes (N, out, H, W) and
    (N, mid, H, W).
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int,
                 fuse: bool = True, norm_cfg: dict = dict(type='BN')):
        super().__init__()
        for name, value in (('in_channels', in_channels), ('mid_channels', mid_channels),
                            ('out_channels', out_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f'ABF: {name} must be a positive int, got {value!r}')
        self.in_channels = in_channels
        self.mid_channels = mid_channels
        self.out_channels = out_channels
        self.fuse = fuse
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, 1, bias=False),
            build_norm_layer(norm_cfg, mid_channels)[1])
        self.conv2 = nn.Sequential(
            nn.Conv2d(mid_channels, out_channels, 3, padding=1, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1])
        self.att_conv = nn.Conv2d(2 * mid_channels, 2, 1) if fuse else None
        self.init_weights()

    def init_weights(self) -> None:
        """Kaiming-uniform (a=1) conv weights, as the authors initialise them."""
        nn.init.kaiming_uniform_(self.conv1[0].weight, a=1)
        nn.init.kaiming_uniform_(self.conv2[0].weight, a=1)

    def forward(self, x: Tensor, residual: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'ABF expects an (N, {self.in_channels}, H, W) feature, got '
                             f'{tuple(x.shape)}.')
        own = self.conv1(x)
        if not self.fuse:
            if residual is not None:
                raise ValueError('ABF(fuse=False) is the deepest level and takes no residual.')
            fused = own
        else:
            if residual is None:
                raise ValueError('ABF(fuse=True) needs the residual of the deeper level.')
            if residual.dim() != 4 or residual.shape[:2] != own.shape[:2]:
                raise ValueError(
                    f'ABF: the residual must have shape (N, {self.mid_channels}, h, w) with '
                    f'N = {own.shape[0]}, got {tuple(residual.shape)}.')
            residual = F.interpolate(residual, size=own.shape[-2:], mode='nearest')
            att = torch.sigmoid(self.att_conv(torch.cat([own, residual], dim=1)))
            fused = own * att[:, 0:1] + residual * att[:, 1:2]
        return self.conv2(fused), fused
