"""Checkpoint loading on torch >= 2.6, where ``torch.load`` defaults to ``weights_only=True``.

mmengine 0.10 checkpoints hold numpy values (in ``meta`` and in the message hub's
``HistoryBuffer``), which the restricted unpickler refuses. Instead of unpickling
anything, :func:`register_safe_globals` allow-lists exactly the types mmengine writes;
any other type still fails with torch's error, which names it.

``HistoryBuffer`` also pickles its statistics functions, which needs ``getattr`` — a
global that would let a checkpoint call arbitrary code, so it is never allow-listed.
Those functions are class-level registrations that ``__setstate__`` restores anyway,
so :func:`register_safe_globals` makes the buffer leave them out of its state.
"""
import collections
import os.path as osp
from typing import Dict

import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader


def _numpy_globals() -> list:
    # numpy 2 moved its internals to numpy._core; pickles name the module they came from.
    from numpy.core import multiarray  # noqa: F401  (numpy 1 and 2 both provide it)
    core = getattr(np, '_core', None) or np.core
    safe = [np.ndarray, np.dtype, core.multiarray._reconstruct, core.multiarray.scalar]
    dtype_classes = getattr(np, 'dtypes', None)
    if dtype_classes is not None:
        safe += [getattr(dtype_classes, n) for n in dir(dtype_classes) if n.endswith('DType')]
    return safe


def safe_checkpoint_globals() -> list:
    """Types an mmengine 0.10 checkpoint may contain beside tensors and builtins."""
    from mmengine.logging import HistoryBuffer
    return [*_numpy_globals(), HistoryBuffer, collections.OrderedDict, collections.Counter,
            collections.defaultdict]


def _history_buffer_state(buffer) -> dict:
    # mmengine's own __getstate__ adds the statistics functions (pickled via getattr).
    state = dict(buffer.__dict__)
    state.pop('statistics_methods', None)
    return state


def register_safe_globals() -> None:
    """Allow mmengine's checkpoint types in ``torch.load(weights_only=True)`` and make
    the message hub's buffers save without functions."""
    from mmengine.logging import HistoryBuffer
    HistoryBuffer.__getstate__ = _history_buffer_state
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(safe_checkpoint_globals())


def load_teacher_checkpoint(teacher: torch.nn.Module, filename: str, strict: bool = True) -> None:
    """Load teacher weights from a local path or URL, reporting key mismatches.

    Raises:
        FileNotFoundError: a local path that does not exist.
        ValueError: with ``strict``, missing or unexpected keys (listed).
    """
    if '://' not in filename and not osp.isfile(filename):
        raise FileNotFoundError(
            f"Teacher checkpoint '{filename}' does not exist. Set model.teacher_ckpt to the "
            'trained teacher (a local .pth or a model-zoo URL).')
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
    state_dict = checkpoint.get('state_dict', checkpoint)
    state_dict = {k[len('module.'):] if k.startswith('module.') else k: v
                  for k, v in state_dict.items()}
    if any(k.startswith('student.') for k in state_dict):
        raise ValueError(
            f"'{filename}' is a distillation checkpoint (keys start with 'student.'). Export "
            'the student with tools/export_student.py and use that file as the teacher.')
    own = teacher.state_dict()
    mismatched = [k for k, v in state_dict.items() if k in own and own[k].shape != v.shape]
    result = teacher.load_state_dict(
        {k: v for k, v in state_dict.items() if k not in mismatched}, strict=False)
    if result.missing_keys or result.unexpected_keys or mismatched:
        message = (f"Teacher checkpoint '{filename}' does not match the teacher model: "
                   f'{_describe_keys(result.missing_keys, "missing")}; '
                   f'{_describe_keys(result.unexpected_keys, "unexpected")}; '
                   f'{_describe_keys(mismatched, "shape-mismatched")}.')
        if strict:
            raise ValueError(message + ' Check that model.teacher is the architecture the '
                             'checkpoint was trained with, or set teacher_ckpt_strict=False.')
        print_log(message + ' Loaded the matching weights only.', logger='current', level=30)


def _describe_keys(keys, kind: str, limit: int = 8) -> str:
    if not keys:
        return f'no {kind} keys'
    shown = ', '.join(keys[:limit])
    more = f' and {len(keys) - limit} more' if len(keys) > limit else ''
    return f'{len(keys)} {kind} keys ({shown}{more})'


def student_state_dict(checkpoint: Dict) -> Dict[str, torch.Tensor]:
    """The student's weights in a DistillationDetector checkpoint, prefix stripped."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    student = {k[len('student.'):]: v for k, v in state_dict.items() if k.startswith('student.')}
    if not student:
        raise ValueError("No 'student.' weights in this checkpoint: it is not a "
                         'DistillationDetector checkpoint.')
    return student
