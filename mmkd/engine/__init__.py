"""Training-time machinery: the reliability hooks, the runner that adds them, and the
non-finite loss guard of the distillation host (defined in :mod:`mmkd.models.nonfinite`,
re-exported here)."""
from ..models.nonfinite import NONFINITE_MODES, NonFiniteError, NonFiniteLossGuard
from .data_checks import check_num_classes, check_train_dataset, head_num_classes
from .hooks import (CheckpointGuardHook, RandomStateHook, TrainDataCheckHook,
                    add_reliability_hooks)
from .random_state import get_rng_state, set_rng_state
from .runner import DistillationRunner

__all__ = ['CheckpointGuardHook', 'DistillationRunner', 'RandomStateHook',
           'TrainDataCheckHook', 'add_reliability_hooks', 'check_num_classes',
           'check_train_dataset', 'head_num_classes', 'NONFINITE_MODES', 'NonFiniteError',
           'NonFiniteLossGuard', 'get_rng_state', 'set_rng_state']
