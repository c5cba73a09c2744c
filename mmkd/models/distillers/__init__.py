from .base import BaseDistiller, DistillerContext
from .cwd import CWD
from .feature_distiller import FeatureDistiller
from .fgd import FGD
from .fgfi import FGFI
from .fitnet import FitNet
from .kd import KD
from .mask_kd import MaskKD
from .mgd import MGD
from .pkd import PKD
from .reverse import ReverseDistiller
from .reviewkd import ReviewKD

__all__ = ['BaseDistiller', 'DistillerContext', 'FeatureDistiller', 'CWD', 'FGD', 'FGFI',
           'FitNet', 'KD', 'MaskKD', 'MGD', 'PKD', 'ReverseDistiller', 'ReviewKD']
