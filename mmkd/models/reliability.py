"""Whether a training run has mmkd's reliability hooks.

The hooks (:mod:`mmkd.engine.hooks`) record their names in the run's
:class:`~mmengine.logging.MessageHub` when the run starts, and the distillation host
checks them at its first training step. A runner that does not add them (a config
without ``runner_type='mmkd.DistillationRunner'`` trained by mmdet's ``tools/train.py``)
would otherwise lose exact resume, the checkpoint guard and the data checks silently.
"""
from mmengine.logging import MessageHub, print_log

# What each hook protects, as the warning words it.
RELIABILITY_HOOKS = {
    'RandomStateHook': 'exact resume',
    'CheckpointGuardHook': 'no checkpoint with non-finite weights',
    'TrainDataCheckHook': 'the data and class checks before training',
}
_ACTIVE = 'mmkd_reliability_hooks'
_CHECKED = 'mmkd_reliability_hooks_checked'


def record_reliability_hook(message_hub: MessageHub, name: str) -> None:
    """Note that the hook ``name`` takes part in the run of ``message_hub``."""
    active = tuple(message_hub.get_info(_ACTIVE, ()))
    # Not saved in checkpoints: a resumed run counts the hooks of its own launch only.
    message_hub.update_info(_ACTIVE, active + (name, ), resumed=False)


def warn_without_reliability_hooks() -> None:
    """Log a warning, once per run, when the current run lacks some of the hooks."""
    message_hub = MessageHub.get_current_instance()
    if message_hub.get_info(_CHECKED):
        return
    message_hub.update_info(_CHECKED, True, resumed=False)
    active = message_hub.get_info(_ACTIVE, ())
    missing = {name: role for name, role in RELIABILITY_HOOKS.items() if name not in active}
    if not missing:
        return
    lost = '; '.join(f'{name}: {role}' for name, role in missing.items())
    example = next(iter(missing))
    print_log(f"This distillation run lacks mmkd's reliability hooks ({lost}). Set "
              "runner_type='mmkd.DistillationRunner' in the config (mmkd's pair bases "
              "in configs/_base_/pairs do), which adds them under any launcher, or name "
              f"them in custom_hooks, e.g. dict(type='mmkd.{example}').",
              logger='current', level=30)
