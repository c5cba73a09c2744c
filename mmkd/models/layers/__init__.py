from .abf import ABF
from .adapter import build_adapter, build_adapters
from .mgd_generator import MGDGenerator

__all__ = ['ABF', 'MGDGenerator', 'build_adapter', 'build_adapters']
