from .distillation_detector import DistillationDetector
from .distillers import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .mutual_distillation_detector import MutualDistillationDetector, ReverseDistiller
from .recorder import FeatureRecorder, FeatureSpec

__all__ = ['DistillationDetector', 'MutualDistillationDetector', 'ReverseDistiller',
           'FeatureRecorder', 'FeatureSpec']
