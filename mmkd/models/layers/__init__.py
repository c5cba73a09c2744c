from .abf import ABF

__all__ = ['ABF']
