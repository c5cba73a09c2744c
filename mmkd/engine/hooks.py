"""Training hooks that keep a run from losing work or going silently wrong.

:class:`~mmkd.engine.DistillationRunner` adds all three to every run it builds (see
:func:`add_reliability_hooks`); a config trained by another runner names them in
``custom_hooks``, e.g. ``dict(type='mmkd.RandomStateHook')``.
"""
from typing import List

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ..checkpoint import check_checkpoint_content
from ..models.nonfinite import NonFiniteError
from ..models.reliability import RELIABILITY_HOOKS, record_reliability_hook
from ..registry import HOOKS
from .data_checks import check_num_classes, check_train_dataset
from .random_state import get_rng_state, set_rng_state


class _RestoreBeforeBatch:
    """Wraps the train loop's data iterator: passes ``skip`` batches through (mmengine
    fast-forwards the data of a resumed iteration-based run that way), then restores the
    generator states just before the next batch is loaded, where the uninterrupted run
    was when it saved them."""

    def __init__(self, iterator, skip: int, state: dict):
        self._iterator, self._skip, self._state = iterator, skip, state

    def __iter__(self):
        return self

    def __next__(self):
        if self._skip == 0 and self._state is not None:
            set_rng_state(self._state)
            self._state = None
        self._skip -= 1
        return next(self._iterator)

    def __getattr__(self, name):
        return getattr(self._iterator, name)


class _ReliabilityHook(Hook):
    """Records in the run's message hub, when the run starts, that the run has this hook
    (the distillation host warns when one is missing, see :mod:`mmkd.models.reliability`)."""

    def before_run(self, runner) -> None:
        name = next(c.__name__ for c in type(self).__mro__ if c.__name__ in RELIABILITY_HOOKS)
        record_reliability_hook(runner.message_hub, name)


@HOOKS.register_module()
class RandomStateHook(_ReliabilityHook):
    """Exact resume: checkpoints carry the generator states, and ``--resume`` restores
    them where the interrupted run stood.

    Saved under ``checkpoint['rng_state']`` (python, numpy, torch, CUDA when in use),
    restored when a run resumes (not when it only loads weights with ``load_from``):
    for an iteration-based loop after mmengine has fast-forwarded the data loader past
    the trained batches and before the next batch is loaded; for an epoch-based loop
    at the start of the next epoch. Validation during training runs between a save and
    the state's restore, so it is given its own generator states and leaves those of
    training untouched: a run's results do not depend on ``val_interval``.

    Under distributed training only rank 0 saves checkpoints, so every rank resumes
    with rank 0's states.
    """

    priority = 'VERY_LOW'

    def __init__(self):
        self._loaded = None  # (iteration, states) of the last loaded checkpoint
        self._epoch_state = None
        self._training_state = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_state'] = get_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if isinstance(checkpoint, dict):
            self._loaded = (checkpoint.get('meta', {}).get('iter'), checkpoint.get('rng_state'))

    def before_train(self, runner) -> None:
        if self._loaded is None:
            return
        iteration, state = self._loaded
        self._loaded = None
        if not iteration or runner.iter != iteration:
            return  # weights loaded with load_from, not a resumed run
        if state is None:
            print_log('The resumed checkpoint has no random generator states (saved without '
                      'mmkd.RandomStateHook): training goes on, but not bit-identical to an '
                      'uninterrupted run.', logger='current', level=30)
            return
        loop = runner.train_loop
        if hasattr(loop, 'dataloader_iterator'):  # IterBasedTrainLoop
            loop.dataloader_iterator = _RestoreBeforeBatch(loop.dataloader_iterator,
                                                           runner.iter, state)
        else:
            self._epoch_state = state

    def before_train_epoch(self, runner) -> None:
        if self._epoch_state is not None:
            set_rng_state(self._epoch_state)
            self._epoch_state = None

    def before_val(self, runner) -> None:
        self._training_state = get_rng_state()

    def after_val(self, runner) -> None:
        if self._training_state is not None:
            set_rng_state(self._training_state)
            self._training_state = None


@HOOKS.register_module()
class CheckpointGuardHook(_ReliabilityHook):
    """Checkpoints are written only with finite weights, and read only when they are
    checkpoints.

    - Before a save: any NaN/inf in the model's floating-point weights or buffers
      stops training with :class:`~mmkd.engine.NonFiniteError` naming them; nothing is
      written and no older checkpoint is rotated away (``max_keep_ckpts``). Catches what
      the per-step loss check cannot: a finite loss whose gradients overflowed.
    - After a load (``load_from``, ``--resume``): a file that is not a checkpoint dict,
      or a weights-only file given to ``--resume``, is a clear error.
    """

    priority = 'VERY_HIGH'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        bad = [name for name, value in checkpoint.get('state_dict', {}).items()
               if torch.is_tensor(value) and value.is_floating_point()
               and not bool(torch.isfinite(value).all())]
        if bad:
            shown = ', '.join(bad[:8]) + (f' and {len(bad) - 8} more' if len(bad) > 8 else '')
            raise NonFiniteError(
                f'Iteration {runner.iter}: {len(bad)} weights are non-finite ({shown}); the '
                'checkpoint was not written and no earlier one was removed. Gradients '
                'overflowed: lower the loss weights or the learning rate, or clip gradients '
                '(optim_wrapper.clip_grad).')

    def after_load_checkpoint(self, runner, checkpoint) -> None:
        filename = str(getattr(runner, '_load_from', None) or 'the loaded checkpoint')
        check_checkpoint_content(checkpoint, filename)
        if getattr(runner, '_resume', False) and not isinstance(checkpoint.get('meta'), dict):
            raise ValueError(
                f"Checkpoint '{filename}' holds weights only (no 'meta' with the epoch and "
                'iteration): training cannot resume from it. Start a new run that loads '
                'it with load_from=... (and no --resume).')


@HOOKS.register_module()
class TrainDataCheckHook(_ReliabilityHook):
    """Before training: the training set has instances of its configured classes, its
    annotations only have categories the annotation file declares, every image file it
    lists exists (when read from local files), the detector's heads predict as many
    classes as it has, and a distillation model's teacher as many as its student (see
    :mod:`mmkd.engine.data_checks`).

    Args:
        check_teacher: compare the teacher's classes with the student's.
    """

    def __init__(self, check_teacher: bool = True):
        self.check_teacher = check_teacher

    def before_train(self, runner) -> None:
        dataset = runner.train_dataloader.dataset
        check_train_dataset(dataset)
        classes = dataset.metainfo.get('classes')
        if classes:
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            check_num_classes(model, classes, check_teacher=self.check_teacher)


def add_reliability_hooks(cfg: Config) -> List[dict]:
    """Add the mmkd hooks a config's ``custom_hooks`` does not name yet (a hook the
    config configures itself is kept as it is)."""
    hooks = list(cfg.get('custom_hooks') or [])
    named = {str(h.get('type', '')).split('.')[-1] for h in hooks if isinstance(h, dict)}
    hooks += [dict(type=f'mmkd.{name}') for name in RELIABILITY_HOOKS if name not in named]
    cfg.custom_hooks = hooks
    return hooks
