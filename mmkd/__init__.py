"""mmkd: knowledge distillation for MMDetection 3.x detectors."""
from .checkpoint import register_safe_globals
from .registry import HOOKS, MODELS

__version__ = '0.1.0'

register_safe_globals()

from . import models  # noqa: E402,F401  (registers the model components)
from . import engine  # noqa: E402,F401  (registers the training hooks)

__all__ = ['HOOKS', 'MODELS', '__version__']
