"""Detect a non-finite loss at the step it happens, before its update is applied."""
from typing import Dict

import torch
import torch.distributed as dist
from mmengine.logging import MessageHub, print_log
from torch import Tensor

NONFINITE_MODES = ('stop', 'skip')


class NonFiniteError(RuntimeError):
    """Training produced a non-finite loss or weight; nothing after it was applied or
    saved."""


class NonFiniteLossGuard:
    """Checks the losses of every training step for NaN/inf.

    Args:
        mode: ``'stop'`` raises :class:`NonFiniteError` naming the non-finite loss keys
            and the iteration; ``'skip'`` drops the step (no backward, no optimizer
            step: momentum, weight decay and Adam moments stay untouched) and logs it;
            after ``max_skips`` skipped steps in a row, the next non-finite step raises
            (a run that keeps producing non-finite losses has diverged).
        max_skips: consecutive skipped steps tolerated in ``'skip'`` mode.

    Under mixed precision (mmengine's ``AmpOptimWrapper``, ``--amp``) the losses checked
    are the unscaled ones, computed in float32 (see
    :func:`mmkd.models.losses.utils.full_precision`). A float16 overflow of the scaled loss
    in backward leaves them finite: the loss scaler sees the inf gradients, skips that
    update and lowers its scale, and training goes on without this guard counting a step.
    A NaN or inf loss is not the scaler's to fix and stops (or is skipped) as without
    mixed precision.
    """

    def __init__(self, mode: str = 'stop', max_skips: int = 10):
        if mode not in NONFINITE_MODES:
            raise ValueError(f'nonfinite must be one of {NONFINITE_MODES}, got {mode!r}')
        if not isinstance(max_skips, int) or max_skips < 1:
            raise ValueError(f'max_nonfinite_skips must be a positive int, got {max_skips!r}')
        self.mode = mode
        self.max_skips = max_skips
        self.consecutive_skips = 0
        self.total_skips = 0

    def check(self, log_vars: Dict[str, Tensor], can_skip: bool) -> bool:
        """Whether the step's update may be applied.

        Args:
            log_vars: the parsed losses (``BaseModel.parse_losses``), scalar tensors;
                the keys containing ``'loss'`` (those summed into the total) are checked.
            can_skip: the caller drops the update when this returns False. A caller
                that always applies it (mmengine's distributed wrapper) passes False,
                and a non-finite step then stops training even in ``'skip'`` mode.

        Returns:
            True when every loss is finite (on every rank of a distributed run);
            False when the step is to be skipped.
        """
        names = [name for name in log_vars if 'loss' in name]
        if not names:
            return True
        finite = torch.stack([torch.isfinite(log_vars[n].detach()).all() for n in names])
        all_finite = finite.all()
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            # Every rank must take the same decision, or DDP's gradient sync hangs.
            all_finite = all_finite.to(torch.int32)
            dist.all_reduce(all_finite, op=dist.ReduceOp.MIN)
        if bool(all_finite):
            self.consecutive_skips = 0
            return True

        iteration = MessageHub.get_current_instance().get_info('iter', 0) + 1
        bad = [f'{n}={log_vars[n].item()}' for n, ok in zip(names, finite.tolist()) if not ok]
        where = (f"at iteration {iteration}: {', '.join(bad)}" if bad else
                 f'at iteration {iteration} on another rank')
        if self.mode == 'stop' or not can_skip:
            reason = ('' if self.mode == 'stop' else " (nonfinite='skip' cannot skip a step "
                      "under mmengine's distributed wrapper, which applies every update)")
            raise NonFiniteError(
                f'Non-finite loss {where}{reason}. The update of this step was not applied '
                'and no checkpoint was written after it: the latest checkpoint in the work '
                'dir is the last good state. Lower the loss weights or the learning rate, '
                "check the teacher checkpoint and the data, or set model.nonfinite='skip' "
                'to skip such steps.')
        if self.consecutive_skips >= self.max_skips:
            raise NonFiniteError(
                f'Non-finite loss {where}, after {self.consecutive_skips} skipped steps in '
                f'a row (max_nonfinite_skips={self.max_skips}; {self.total_skips} skipped '
                'in all): training has diverged. No non-finite update was applied; lower '
                'the loss weights or the learning rate.')
        self.consecutive_skips += 1
        self.total_skips += 1
        print_log(f'Skipped the update of the step {where} ({self.consecutive_skips} in a '
                  f'row, {self.total_skips} in all).', logger='current', level=30)
        return False
