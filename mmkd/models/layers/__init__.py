from .abf import ABF
from .adapter import build_adapter
from .mgd_generator import MGDGenerator

__all__ = ['ABF', 'MGDGenerator', 'build_adapter']
