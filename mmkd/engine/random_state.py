"""The random number generator states of a process, as checkpoint values."""
import random
from typing import Dict

import numpy as np
import torch


def get_rng_state() -> Dict:
    """python, numpy, torch (and CUDA, when in use) generator states.

    Only tensors, numpy arrays and builtins: loads with ``torch.load(weights_only=True)``.
    """
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict) -> None:
    """Restore the states :func:`get_rng_state` returned."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'].cpu())
    if state.get('cuda') is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])
