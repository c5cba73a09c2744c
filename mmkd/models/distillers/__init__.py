from .base import BaseDistiller, DistillerContext
from .bckd import BCKD
from .crosskd import CrossKD
from .cwd import CWD
from .detr_prediction_kd import DETRPredictionKD
from .feature_distiller import FeatureDistiller
from .fgd import FGD
from .fgfi import FGFI
from .fitnet import FitNet
from .kd import KD
from .ld import LD
from .mask_kd import MaskKD
from .mgd import MGD
from .pkd import PKD
from .reverse import ReverseDistiller
from .reviewkd import ReviewKD

__all__ = ['BaseDistiller', 'DistillerContext', 'FeatureDistiller', 'BCKD', 'CrossKD', 'CWD',
           'DETRPredictionKD', 'FGD', 'FGFI', 'FitNet', 'KD', 'LD', 'MaskKD', 'MGD', 'PKD',
           'ReverseDistiller', 'ReviewKD']
