"""FGD's loss (Yang et al., "Focal and Global Knowledge Distillation for Detectors",
CVPR 2022)."""
from typing import Dict, Sequence

import torch
from torch import Tensor, nn

from ...registry import MODELS
from .utils import full_precision


def spatial_attention(feat: Tensor, temperature: float) -> Tensor:
    """(N, C, H, W) -> (N, H, W): ``H*W * softmax_hw(mean_c |feat| / temperature)``."""
    n, _, h, w = feat.shape
    logits = feat.abs().mean(dim=1).flatten(1) / temperature
    return (h * w * logits.softmax(dim=1)).view(n, h, w)


def channel_attention(feat: Tensor, temperature: float) -> Tensor:
    """(N, C, H, W) -> (N, C): ``C * softmax_c(mean_hw |feat| / temperature)``."""
    logits = feat.abs().mean(dim=(2, 3)) / temperature
    return feat.shape[1] * logits.softmax(dim=1)


@MODELS.register_module()
class FGDLoss(nn.Module):
    """The four terms of FGD, each summed over levels and divided by the batch size N.

    Per level, with ``A_s``/``A_c`` the spatial/channel attention (:func:`spatial_attention`,
    :func:`channel_attention`) and the foreground/background masks ``M_fg``/``M_bg``
    (N, H, W) of :func:`~mmkd.models.distillers.fgd_masks.fgd_masks`::

        fg     = sum M_fg * A_s(t) * A_c(t) * (s - t)^2 / N    (focal, foreground)
        bg     = sum M_bg * A_s(t) * A_c(t) * (s - t)^2 / N    (focal, background)
        att    = sum |A_c(s) - A_c(t)| / N + sum |A_s(s) - A_s(t)| / N
        global = sum (g_s - t_g)^2 / N    (g_s, t_g: the context blocks' outputs)

    Returns ``loss_fg = alpha * fg``, ``loss_bg = beta * bg``, ``loss_att = gamma * att``
    and ``loss_global = lambda_ * global``. Defaults are the authors' (``temperature``
    0.5, 1e-3, 5e-4, 1e-3, 5e-6); their configs use, for RetinaNet / GFL: 1e-3, 5e-4,
    5e-4, 5e-6; Faster / Mask R-CNN: 5e-5, 2.5e-5, 5e-5, 5e-7; RepPoints: 1.6e-3, 8e-4,
    8e-4, 8e-6 (FCOS: the same with temperature 0.8).

    There is no ``weight`` / ``avg_factor`` / ``reduction``: the masks and attentions
    already weigh every position, and the per-image sums are the scale that the
    published weights were tuned for.

    Args:
        temperature: temperature of both attentions.
        alpha / beta / gamma / lambda_: weights of the four terms.
        normalize_levels: divide each level's terms by its ``H*W``. The attention and
            global terms sum over positions, so the highest-resolution level dominates
            them (FGD issue #72, where the authors suggest this division). Off in the
            published configs; with it on, the weights must grow by about the area of the
            levels that matter (e.g. 100x-1000x for 800-px COCO inputs) to keep the scale.
    """

    def __init__(self, temperature: float = 0.5, alpha: float = 1e-3, beta: float = 5e-4,
                 gamma: float = 1e-3, lambda_: float = 5e-6, normalize_levels: bool = False):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'FGDLoss: temperature must be > 0, got {temperature}.')
        self.temperature = temperature
        self.weights = dict(loss_fg=alpha, loss_bg=beta, loss_att=gamma, loss_global=lambda_)
        self.normalize_levels = normalize_levels

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor],
                fg_masks: Sequence[Tensor], bg_masks: Sequence[Tensor],
                student_global: Sequence[Tensor],
                teacher_global: Sequence[Tensor]) -> Dict[str, Tensor]:
        """Per-level lists: student / teacher / student_global / teacher_global (N, C, H, W)
        of equal shapes (the student aligned to the teacher's channels), masks (N, H, W).
        Computed in float32: the attentions' softmaxes and the sums over every position
        need it (see :func:`~.utils.full_precision`)."""
        terms = dict.fromkeys(self.weights, 0.)
        for level, (s, t, fg, bg, gs, gt) in enumerate(zip(
                student, teacher, fg_masks, bg_masks, student_global, teacher_global)):
            n, _, h, w = t.shape
            if s.shape != t.shape or fg.shape != (n, h, w) or bg.shape != (n, h, w):
                raise ValueError(f'FGDLoss level {level}: student {tuple(s.shape)}, teacher '
                                 f'{tuple(t.shape)} and masks {tuple(fg.shape)} / '
                                 f'{tuple(bg.shape)} do not match as (N, C, H, W), (N, H, W).')
            s, t, gs, gt = full_precision(s, t, gs, gt)
            att_s_t, att_c_t = spatial_attention(t, self.temperature), \
                channel_attention(t, self.temperature)
            weighted = (s - t).pow(2) * att_c_t[:, :, None, None] * att_s_t[:, None]
            level_terms = dict(
                loss_fg=(weighted * fg[:, None]).sum(),
                loss_bg=(weighted * bg[:, None]).sum(),
                loss_att=(channel_attention(s, self.temperature) - att_c_t).abs().sum()
                + (spatial_attention(s, self.temperature) - att_s_t).abs().sum(),
                loss_global=(gs - gt).pow(2).sum())
            # max: an empty batch adds zero sums, which must not become 0 / 0
            scale = max(n, 1) * (h * w if self.normalize_levels else 1)
            for key, value in level_terms.items():
                terms[key] = terms[key] + value / scale
        return {key: self.weights[key] * torch.as_tensor(value)
                for key, value in terms.items()}
