"""Checkpoint loading on torch >= 2.6, where ``torch.load`` defaults to ``weights_only=True``.

mmengine 0.10 checkpoints hold numpy values (in ``meta`` and in the message hub's
``HistoryBuffer``), which the restricted unpickler refuses. Instead of unpickling
anything, :func:`register_safe_globals` allow-lists exactly the types mmengine writes;
any other type still fails with torch's error, which names it.

``HistoryBuffer`` also pickles its statistics functions, which needs ``getattr`` — a
global that would let a checkpoint call arbitrary code, so it is never allow-listed.
Those functions are class-level registrations that ``__setstate__`` restores anyway,
so :func:`register_safe_globals` makes the buffer leave them out of its state, and
restore only its values: a checkpoint can never replace the statistics methods that
every buffer of the process shares (mmengine's ``__setstate__`` merges a saved
``statistics_methods`` into the class-wide table).

:func:`load_checkpoint_file` and :func:`check_checkpoint_file` turn the usual wrong
files (a directory, an empty file, something that is not a torch pickle, a pickled list)
into errors that say what the file is and what was expected.
"""
import collections
import os.path as osp
import pickle
from typing import Dict, Optional

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


_HISTORY_BUFFER_VALUES = ('max_length', '_log_history', '_count_history')


def _restore_history_buffer(buffer, state: dict) -> None:
    """``HistoryBuffer.__setstate__``: values only, checked; never behaviour."""
    state = dict(state)
    state.pop('statistics_methods', None)  # written by plain mmengine: class-level anyway
    unexpected = sorted(set(state) - set(_HISTORY_BUFFER_VALUES))
    missing = sorted(set(_HISTORY_BUFFER_VALUES) - set(state))
    if unexpected or missing:
        raise ValueError(f'A HistoryBuffer in this checkpoint has unexpected attributes '
                         f'{unexpected} / lacks {missing}: a checkpoint restores only '
                         f'{list(_HISTORY_BUFFER_VALUES)}. The file was not written by '
                         'mmengine; do not resume from it.')
    histories = (state['_log_history'], state['_count_history'])
    if not (isinstance(state['max_length'], int)
            and all(isinstance(h, np.ndarray) and h.dtype.kind in 'biuf' for h in histories)):
        raise ValueError('A HistoryBuffer in this checkpoint holds values of the wrong type '
                         '(max_length must be an int, the histories numeric numpy arrays).')
    buffer._set_default_statistics()
    buffer.__dict__.update(state)


def register_safe_globals() -> None:
    """Allow mmengine's checkpoint types in ``torch.load(weights_only=True)`` and make
    the message hub's buffers save and restore values only, never functions."""
    from mmengine.logging import HistoryBuffer
    HistoryBuffer.__getstate__ = _history_buffer_state
    HistoryBuffer.__setstate__ = _restore_history_buffer
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(safe_checkpoint_globals())


def load_teacher_checkpoint(teacher: torch.nn.Module, filename: str, strict: bool = True) -> None:
    """Load teacher weights from a local path or URL, reporting key mismatches.

    Raises:
        FileNotFoundError: a local path that does not exist.
        ValueError: not a checkpoint (see :func:`load_checkpoint_file`); with
            ``strict``, missing or unexpected keys (listed).
    """
    fix = 'Set model.teacher_ckpt to the trained teacher (a local .pth or a model-zoo URL).'
    if '://' in filename:
        checkpoint = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
        check_checkpoint_content(checkpoint, filename, 'Teacher checkpoint', fix)
    else:
        checkpoint = load_checkpoint_file(filename, 'Teacher checkpoint', fix)
    state_dict = checkpoint.get('state_dict', checkpoint)
    state_dict = {k[len('module.'):] if k.startswith('module.') else k: v
                  for k, v in state_dict.items()}
    if any(k.startswith('student.') for k in state_dict):
        raise ValueError(
            f"'{filename}' is a distillation checkpoint (keys start with 'student.'). Export "
            'the student with tools/export_student.py and use that file as the teacher.')
    mismatch = load_matching_weights(teacher, state_dict)
    if mismatch:
        message = f"Teacher checkpoint '{filename}' does not match the teacher model: {mismatch}."
        if strict:
            raise ValueError(message + ' Check that model.teacher is the architecture the '
                             'checkpoint was trained with, or set teacher_ckpt_strict=False.')
        print_log(message + ' Loaded the matching weights only.', logger='current', level=30)


def load_matching_weights(model: torch.nn.Module, state_dict: Dict) -> Optional[str]:
    """Load the weights of ``state_dict`` whose names and shapes match ``model``.

    Returns:
        None when every key matched, otherwise the report of the missing, unexpected
        and shape-mismatched keys (counts and the first names of each).
    """
    own = model.state_dict()
    mismatched = [k for k, v in state_dict.items() if k in own and own[k].shape != v.shape]
    result = model.load_state_dict(
        {k: v for k, v in state_dict.items() if k not in mismatched}, strict=False)
    if not (result.missing_keys or result.unexpected_keys or mismatched):
        return None
    return (f'{_describe_keys(result.missing_keys, "missing")}; '
            f'{_describe_keys(result.unexpected_keys, "unexpected")}; '
            f'{_describe_keys(mismatched, "shape-mismatched")}')


def check_checkpoint_file(filename: str, role: str = 'Checkpoint', fix: str = '') -> None:
    """Refuse, with a message saying what the path is, a local path that cannot be a
    checkpoint: missing, a directory, or an empty file. Cheap: nothing is loaded."""
    hint = f' {fix}' if fix else ''
    if osp.isdir(filename):
        raise IsADirectoryError(
            f"{role} '{filename}' is a directory; expected a checkpoint file saved by "
            f'torch.save / the mmengine Runner (e.g. work_dirs/<config>/iter_N.pth).{hint}')
    if not osp.isfile(filename):
        raise FileNotFoundError(f"{role} '{filename}' does not exist.{hint}")
    if osp.getsize(filename) == 0:
        raise ValueError(f"{role} '{filename}' is an empty file (0 bytes: an interrupted "
                         f'save, copy or download?); expected a checkpoint saved by '
                         f'torch.save / the mmengine Runner.{hint}')


def check_checkpoint_content(checkpoint, filename: str, role: str = 'Checkpoint',
                             fix: str = '') -> None:
    """Refuse a loaded file that is not a checkpoint dict (e.g. a pickled list)."""
    if not isinstance(checkpoint, dict):
        raise ValueError(
            f"{role} '{filename}' holds a {type(checkpoint).__name__}, not a checkpoint: "
            "expected a dict of weights or a dict with 'state_dict' (as saved by the "
            f"mmengine Runner or torch.save(model.state_dict())).{f' {fix}' if fix else ''}")


def load_checkpoint_file(filename: str, role: str = 'Checkpoint', fix: str = '') -> Dict:
    """``torch.load`` a local checkpoint (``weights_only=True``, on the CPU), with clear
    errors for anything that is not a checkpoint dict."""
    check_checkpoint_file(filename, role, fix)
    try:
        checkpoint = torch.load(filename, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as error:
        if 'Unsupported global' in str(error):
            raise  # a torch checkpoint holding a type that is not allowed: torch names it
        raise _not_a_checkpoint(filename, role, fix, error) from None
    except Exception as error:  # truncated files, other formats: torch's errors are bare
        raise _not_a_checkpoint(filename, role, fix, error) from None
    check_checkpoint_content(checkpoint, filename, role, fix)
    return checkpoint


def _not_a_checkpoint(filename: str, role: str, fix: str, error: Exception) -> ValueError:
    lines = [line for line in str(error).splitlines()
             if line.strip() and not line.startswith('Check the documentation')]
    detail = lines[-1][:200] if lines else 'no details'
    return ValueError(f"{role} '{filename}' ({osp.getsize(filename)} bytes) is not a file "
                      'written by torch.save (truncated, a plain pickle or another format; '
                      f'torch.load said {type(error).__name__}: {detail}).'
                      f'{f" {fix}" if fix else ""}')


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
