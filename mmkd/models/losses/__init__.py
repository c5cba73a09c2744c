from .binary_kd_loss import BinaryKDLoss
from .cwd_loss import ChannelWiseDivergenceLoss
from .dense_kd_loss import IoUKDLoss, LocalizationKDLoss, QualityFocalKDLoss
from .feature_mse_loss import FeatureMSELoss
from .fgd_loss import FGDLoss
from .hcl_loss import HCLLoss
from .imitation_loss import ImitationLoss
from .kd_loss import KDLoss
from .mgd_loss import MGDLoss
from .pkd_loss import PKDLoss

__all__ = ['BinaryKDLoss', 'ChannelWiseDivergenceLoss', 'FeatureMSELoss', 'FGDLoss', 'HCLLoss',
           'ImitationLoss', 'IoUKDLoss', 'KDLoss', 'LocalizationKDLoss', 'MGDLoss', 'PKDLoss',
           'QualityFocalKDLoss']
