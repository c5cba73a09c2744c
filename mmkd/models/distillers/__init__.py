from .base import BaseDistiller, DistillerContext
from .cwd import CWD
from .detr_prediction_kd import DETRPredictionKD
from .feature_distiller import FeatureDistiller
from .fgd import FGD
from .fgfi import FGFI
from .fitnet import FitNet
from .kd import KD
from .mgd import MGD
from .pkd import PKD
from .reverse import ReverseDistiller
from .reviewkd import ReviewKD

__all__ = ['BaseDistiller', 'DistillerContext', 'FeatureDistiller', 'CWD', 'DETRPredictionKD',
           'FGD', 'FGFI', 'FitNet', 'KD', 'MGD', 'PKD', 'ReverseDistiller', 'ReviewKD']
