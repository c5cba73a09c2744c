from .base import BaseDistiller
from .fgfi import FGFI
from .fitnet import FitNet
from .kd import KD
from .reviewkd import ReviewKD

__all__ = ['BaseDistiller', 'FGFI', 'FitNet', 'KD', 'ReviewKD']
