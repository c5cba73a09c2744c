from .distillation_detector import DistillationDetector, connect_distillers
from .distillers import *  # noqa: F401,F403
from .distillers import ReverseDistiller
from .layers import *  # noqa: F401,F403
from .loss_balance import MagnitudeBalance
from .losses import *  # noqa: F401,F403
from .mutual_distillation_detector import MutualDistillationDetector
from .recorder import FeatureRecorder, FeatureSpec

__all__ = ['DistillationDetector', 'MagnitudeBalance', 'MutualDistillationDetector',
           'ReverseDistiller', 'connect_distillers', 'FeatureRecorder', 'FeatureSpec']
