from .feature_mse import FeatureMSELoss
from .imitation import ImitationLoss
from .kd_loss import KDLoss
from .hcl import HCLLoss

__all__ = ['FeatureMSELoss']
