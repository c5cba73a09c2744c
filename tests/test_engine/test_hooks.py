"""The reliability hooks: a resumed run is bit-identical to an uninterrupted one, and a
checkpoint with non-finite weights is never written."""
from unittest import mock

import numpy as np
import pytest
import torch

from mmkd.engine import CheckpointGuardHook, NonFiniteError

from helpers import assert_same_tensors, load


def test_checkpoint_with_nonfinite_weights_is_never_written():
    """A finite loss whose gradients overflowed: caught before the save."""
    runner = mock.Mock(iter=7)
    state = dict(state_dict={'student.w': torch.tensor([1., float('nan')]),
                             'student.n': torch.tensor(3)})
    with pytest.raises(NonFiniteError, match=r'Iteration 7: 1 weights are non-finite '
                                             r'\(student.w\); the checkpoint was not written'):
        CheckpointGuardHook().before_save_checkpoint(runner, state)


def test_resumed_run_is_bit_identical_to_an_uninterrupted_one(resumed):
    assert 'resumed epoch: 0, iter: 4' in resumed['log']
    straight = load(resumed['dir'] / 'straight/iter_6.pth')
    split = load(resumed['dir'] / 'split/iter_6.pth')
    assert_same_tensors(straight['state_dict'], split['state_dict'])
    # the random generator states travel in the checkpoint, loadable with weights_only
    state = load(resumed['checkpoint'])['rng_state']
    assert state['torch'].dtype == torch.uint8 and isinstance(state['numpy'][1], np.ndarray)
