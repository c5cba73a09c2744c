from .base import BaseDistiller
from .fitnet import FitNet

__all__ = ['BaseDistiller', 'FitNet']
