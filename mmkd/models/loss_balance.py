"""Automatic loss weights (``DistillationDetector(loss_balance=...)``): each distiller's
losses are scaled so that, over a warm-up, their mean is ``ratio`` times the mean
detection loss of the model they train; the scale is then frozen. ``ratio`` is the
config's, or each distiller's ``balance_ratio`` (:data:`FEATURE_RATIO` for losses between
features, :data:`PREDICTION_RATIO` for losses between predictions).

Magnitude matching replaces a loss-weight sweep by a measurement of the run itself. The
scale is a ratio of means, ``ratio * sum(L_task) / sum(L_distill)`` over the measured
steps (and over the ranks of a distributed run), not a mean of per-step ratios: a step
whose distillation loss is small (few objects near an anchor, a loss switching on) adds
little to the sums instead of one huge ratio. Steps whose distillation loss is zero are
not measured at all, and the scale is clamped to :data:`SCALE_BOUNDS`, so a loss that
starts near zero never gets an unbounded weight.
"""
import logging
import math
from typing import Dict, List, Optional, Union

import torch
import torch.distributed as dist
from mmengine.logging import print_log
from torch import Tensor, nn

# The ratio a distiller is balanced to where ``loss_balance`` sets none: its class's
# ``balance_ratio``, one of these two by what its loss compares (README "Automatic loss
# weights" has the measurements). Losses between features: 8, where the demo's tuning
# sweeps with pretrained backbones (ReviewKD, FitNet, FGFI) kept the most of their best
# gains on average. Losses between predictions (class probabilities, boxes, masks), which
# have the detection loss's own form: 1, as large as the detection loss; KD fell 3.3 AP below
# the baseline at 8 (one seed) and gained the most at 1.
FEATURE_RATIO = 8.0
PREDICTION_RATIO = 1.0
DEFAULT_WARMUP_ITERS = 100
# The scale never leaves these bounds: a distillation loss measured as ~0 during the
# warm-up would otherwise get an arbitrarily large weight once it grows.
SCALE_BOUNDS = (1e-3, 1e3)
LOSS_BALANCE_KEYS = ('ratio', 'warmup_iters')

LossValue = Union[Tensor, List[Tensor]]


def total_loss(losses: Dict[str, LossValue]) -> Tensor:
    """The sum mmengine's ``parse_losses`` makes of ``losses``: every key containing
    ``'loss'``, each tensor averaged, a list of tensors (per-level RPN losses) summed."""
    values = [value.mean() if isinstance(value, Tensor) else sum(v.mean() for v in value)
              for key, value in losses.items() if 'loss' in key]
    if not values:
        raise ValueError(f'No loss to balance against among {sorted(losses)}: the keys '
                         "summed into the total loss contain 'loss'.")
    return sum(values)


class MagnitudeBalance(nn.Module):
    """The scale of one distiller's losses: measured over its first ``warmup_iters``
    measured steps, then constant.

    A step is measured when the module is in training mode, the distiller is on (its
    schedule factor is not 0: the host does not call :meth:`update` otherwise) and its
    loss summed over the ranks is finite and non-zero. After each measured step the scale
    is ``clamp(ratio * task_sum / distill_sum, *SCALE_BOUNDS)``; before the first it is 1
    (the configured weights), which a loss that is zero at every step keeps.

    All the state is in buffers, so it is saved in checkpoints and a resumed run (in or
    after the warm-up) continues with exactly the same numbers:

    - ``scale`` (): the current multiplier of the distiller's losses;
    - ``task_sum``, ``distill_sum`` (): sums of the measured steps' detection and
      (unscaled) distillation losses, over all ranks;
    - ``steps`` (): how many steps were measured.

    Args:
        name: the distiller's name, for the log.
        ratio: the target of ``mean(scaled distillation loss) / mean(detection loss)``.
        warmup_iters: measured steps after which the scale is frozen.
    """

    def __init__(self, name: str, ratio: float, warmup_iters: int = DEFAULT_WARMUP_ITERS):
        super().__init__()
        self.name, self.ratio, self.warmup_iters = name, ratio, warmup_iters
        # float64: the sums of many float32 losses, rounded once into the scale.
        self.register_buffer('scale', torch.ones((), dtype=torch.float64))
        self.register_buffer('task_sum', torch.zeros((), dtype=torch.float64))
        self.register_buffer('distill_sum', torch.zeros((), dtype=torch.float64))
        self.register_buffer('steps', torch.zeros((), dtype=torch.int64))

    @property
    def frozen(self) -> bool:
        return int(self.steps) >= self.warmup_iters

    def update(self, task_loss: Tensor, distill_loss: Tensor) -> None:
        """Measure one step (nothing once frozen or in eval mode).

        Args:
            task_loss: the detection loss of the model the distiller trains, () tensor.
            distill_loss: the distiller's summed losses before this scale, () tensor.
        """
        if not self.training or self.frozen:
            return
        stats = torch.stack([task_loss.detach(), distill_loss.detach()]).to(self.task_sum)
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            # Every rank sums the same values, so all of them freeze the same scale.
            dist.all_reduce(stats, op=dist.ReduceOp.SUM)
        task, distill = stats
        if not bool(torch.isfinite(stats).all() and distill > 0):
            return
        self.task_sum += task
        self.distill_sum += distill
        self.steps += 1
        self.scale.copy_((self.ratio * self.task_sum / self.distill_sum).clamp(*SCALE_BOUNDS))
        if self.frozen:
            self._log_frozen()

    def _log_frozen(self) -> None:
        steps, scale = int(self.steps), float(self.scale)
        message = (f'loss_balance: distiller {self.name!r} scale frozen at {scale:.4g} after '
                   f'{steps} measured steps (mean detection loss '
                   f'{float(self.task_sum) / steps:.4g}, mean distillation loss before the '
                   f'scale {float(self.distill_sum) / steps:.4g}, ratio {self.ratio}).')
        level = logging.INFO
        if scale in SCALE_BOUNDS:
            level = logging.WARNING
            message += (f' The scale is at its bound {scale:g}: the distillation loss is far '
                        "from the detection loss; check the distiller's loss_weight and that "
                        'its loss is not ~0 during the warm-up.')
        print_log(message, logger='current', level=level)

    def extra_repr(self) -> str:
        return f'ratio={self.ratio}, warmup_iters={self.warmup_iters}'


def build_loss_balance(cfg: Optional[dict],
                       default_ratios: Dict[str, float]) -> Optional[nn.ModuleDict]:
    """``{distiller name: MagnitudeBalance}`` for the host's ``loss_balance`` config (None:
    no balancing): its ``ratio`` for every distiller, or where it has none each
    distiller's own, ``default_ratios[name]`` (the distiller's ``balance_ratio``).

    Raises:
        ValueError: ``cfg`` is not a dict of :data:`LOSS_BALANCE_KEYS`, a value is out of
            range, or a distiller's name contains ``'loss'`` (its logged scale,
            ``distill_<name>_scale``, would then be summed into the total loss).
    """
    if cfg is None:
        return None
    example = f'e.g. loss_balance=dict(warmup_iters={DEFAULT_WARMUP_ITERS}) or dict(ratio=2.0)'
    if not isinstance(cfg, dict):
        raise ValueError(f'loss_balance must be a dict ({example}) or None, got {cfg!r}.')
    unknown = sorted(set(cfg) - set(LOSS_BALANCE_KEYS))
    if unknown:
        raise ValueError(f'loss_balance takes {", ".join(LOSS_BALANCE_KEYS)}; got '
                         f'{", ".join(unknown)} ({example}).')
    ratio = cfg.get('ratio')
    warmup_iters = cfg.get('warmup_iters', DEFAULT_WARMUP_ITERS)
    if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, (int, float))
                              or not math.isfinite(ratio) or ratio <= 0):
        raise ValueError(f'loss_balance ratio must be a positive number (the distillation '
                         f'loss as a multiple of the detection loss) or None (each '
                         f"distiller's own balance_ratio), got {ratio!r}.")
    if isinstance(warmup_iters, bool) or not isinstance(warmup_iters, int) or warmup_iters < 1:
        raise ValueError('loss_balance warmup_iters must be an int >= 1 (the measured steps '
                         f'before the scale is frozen), got {warmup_iters!r}.')
    clashing = [name for name in default_ratios if 'loss' in name]
    if clashing:
        raise ValueError(f"With loss_balance, distiller names must not contain 'loss' (got "
                         f"{', '.join(clashing)}): the logged distill_<name>_scale would be "
                         'summed into the total loss. Rename the distillers entry.')
    return nn.ModuleDict({
        name: MagnitudeBalance(name, float(default if ratio is None else ratio), warmup_iters)
        for name, default in default_ratios.items()})
