from .feature_mse import FeatureMSELoss
from .hcl import HCLLoss
from .imitation import ImitationLoss
from .kd_loss import KDLoss

__all__ = ['FeatureMSELoss', 'HCLLoss', 'ImitationLoss', 'KDLoss']
