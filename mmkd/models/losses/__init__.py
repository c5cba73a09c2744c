from .feature_mse import FeatureMSELoss

__all__ = ['FeatureMSELoss']
