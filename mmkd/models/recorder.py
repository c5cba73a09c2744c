"""Capture intermediate outputs (or inputs) of named submodules with forward hooks.

A *feature spec* names what to capture: a dotted module path, optionally followed by an
index or slice that selects levels when the module returns a tuple, e.g.::

    'neck'            # all FPN levels (P2..P6 for mmdet's FPN with 5 outs)
    'neck[:4]'        # P2..P5
    'backbone'        # all backbone stages listed in ``out_indices``
    'backbone.layer3' # one stage
"""
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

# Side of the zero image the probe runs: a multiple of the largest FPN stride (128, P7)
# so every stride is exact.
PROBE_IMAGE_SIZE = 256
# The side tried when a detector cannot run on PROBE_IMAGE_SIZE: SSD300's last levels
# are unpadded 3x3 convs that need about 300 px of input.
LARGE_PROBE_IMAGE_SIZE = 512

_SPEC_RE = re.compile(r'^(?P<path>[A-Za-z_][\w.]*)'
                      r'(?:\[(?P<start>-?\d*)(?P<colon>:)?(?P<stop>-?\d*)\])?$')


@dataclass(frozen=True)
class FeatureSpec:
    """What to capture from one submodule.

    Args:
        path: dotted module path, as in ``model.named_modules()``.
        index: level selection applied when the captured value is a tuple/list
            (an ``int`` keeps one level, a ``(start, stop)`` pair a slice of levels,
            ``None`` keeps all).
        source: ``'output'`` (default) or ``'input'`` (the positional arguments).
        optional: the module may be skipped in a pass (mmdet calls a mask head's loss
            only when the batch has positive RoIs); such a pass records no tensor for
            the spec instead of failing.
    """
    path: str
    index: Union[int, Tuple[Optional[int], Optional[int]], None] = None
    source: str = 'output'
    optional: bool = False

    @classmethod
    def parse(cls, spec: Union[str, 'FeatureSpec']) -> 'FeatureSpec':
        if isinstance(spec, FeatureSpec):
            return spec
        match = _SPEC_RE.match(spec) if isinstance(spec, str) else None
        if match is None:
            raise ValueError(
                f'Invalid feature spec {spec!r}: expected a dotted module path with an '
                f"optional level index or slice, e.g. 'neck', 'neck[:4]', 'backbone.layer3'.")
        start, stop = match['start'], match['stop']
        if match['colon']:
            index = (int(start) if start else None, int(stop) if stop else None)
        elif start:
            index = int(start)
        else:
            index = None
        return cls(match['path'], index)

    def select(self, value) -> List[Tensor]:
        """Turn a captured value into a flat list of tensors (shallow to deep)."""
        levels = list(value) if isinstance(value, (tuple, list)) else [value]
        if self.index is None:
            return levels
        if isinstance(self.index, int):
            if not -len(levels) <= self.index < len(levels):
                raise IndexError(f"Feature spec '{self}' selects level {self.index} but "
                                 f"'{self.path}' gives {len(levels)} level(s).")
            return [levels[self.index]]
        selected = levels[slice(*self.index)]
        if not selected:
            raise IndexError(f"Feature spec '{self}' selects no level: '{self.path}' "
                             f'gives {len(levels)} level(s).')
        return selected

    def __str__(self) -> str:
        if self.index is None:
            return self.path
        if isinstance(self.index, int):
            return f'{self.path}[{self.index}]'
        start, stop = ('' if i is None else i for i in self.index)
        return f'{self.path}[{start}:{stop}]'


def parse_specs(specs: Union[str, FeatureSpec, Sequence]) -> List[FeatureSpec]:
    if isinstance(specs, (str, FeatureSpec)):
        specs = [specs]
    return [FeatureSpec.parse(spec) for spec in specs]


def _valid_names_hint(model: nn.Module, max_depth: int = 2, limit: int = 40) -> str:
    names = [n for n, _ in model.named_modules() if n and n.count('.') < max_depth]
    shown = ', '.join(names[:limit])
    more = f', ... ({len(names) - limit} more)' if len(names) > limit else ''
    return f'{shown}{more}'


def get_submodule(model: nn.Module, path: str, owner: str) -> nn.Module:
    """``model.get_submodule(path)`` with an error that lists valid names."""
    try:
        return model.get_submodule(path)
    except AttributeError:
        raise ValueError(
            f"The {owner} ({type(model).__name__}) has no submodule '{path}'. "
            f'Use a dotted path from model.named_modules(); top-level names: '
            f'{_valid_names_hint(model)}') from None


class FeatureRecorder:
    """Keeps forward hooks on the modules named by ``specs`` and records their values.

    Values are only kept inside :meth:`recording`, so inference does not hold on to
    feature maps.

    Args:
        model: the model to hook.
        specs: what to record; a module named by several specs is hooked once.
        owner: ``'student'`` or ``'teacher'``, used in error messages.
    """

    def __init__(self, model: nn.Module, specs: Iterable[FeatureSpec], owner: str):
        self.owner = owner
        self.specs: List[FeatureSpec] = list(specs)
        self.values: Dict[tuple, object] = {}
        self._active = False
        self._handles = []
        for path, source in sorted({(spec.path, spec.source) for spec in self.specs}):
            module = get_submodule(model, path, owner)
            self._handles.append(module.register_forward_hook(self._hook(path, source)))

    def _hook(self, path: str, source: str):
        def hook(module, args, output):
            if self._active:
                self.values[(path, source)] = output if source == 'output' else args
        return hook

    @contextmanager
    def recording(self):
        self.values.clear()
        self._active = True
        try:
            yield self
        finally:
            self._active = False

    def get(self, spec: FeatureSpec) -> List[Tensor]:
        key = (spec.path, spec.source)
        if key not in self.values:
            if spec.optional:
                return []
            raise RuntimeError(
                f"'{spec.path}' of the {self.owner} did not run in this forward pass, so its "
                f'{spec.source} could not be recorded.')
        return spec.select(self.values[key])

    def clear(self):
        self.values.clear()

    def remove(self):
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


@dataclass(frozen=True)
class FeatureLevel:
    """What the distillers know of one recorded level before training starts.

    Args:
        channels: C of the (N, C, H, W) feature map.
        stride: input pixels per feature-map cell (4 for FPN's P2, 32 for ResNet's C5).
        spec: the feature spec the level came from, e.g. ``'neck'``.
        index: the level's position among the levels the spec selects.
    """
    channels: int
    stride: int
    spec: str
    index: int = 0

    def __str__(self) -> str:
        return f'{self.spec}[{self.index}] ({self.channels} ch, stride {self.stride})'


@torch.no_grad()
def probe_feature_levels(model: nn.Module, specs: Iterable[FeatureSpec], owner: str
                         ) -> Dict[FeatureSpec, Optional[List[FeatureLevel]]]:
    """Channels and strides of the features named by ``specs``.

    Runs ``model.extract_feat`` (backbone + neck) once, in eval mode, on a zero image of
    side :data:`PROBE_IMAGE_SIZE` (:data:`LARGE_PROBE_IMAGE_SIZE` where the model's
    convolutions find that too small). Specs outside that part of the model map to
    ``None``.

    Raises:
        ValueError: a recorded value that is not an (N, C, H, W) feature map.
    """
    specs = list(specs)
    recorder = FeatureRecorder(model, specs, owner)
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters(), None)
        device = param.device if param is not None else 'cpu'
        with recorder.recording():
            size = _run_probe(model, device)
            values = dict(recorder.values)
    finally:
        recorder.remove()
        model.train(was_training)
    levels = {}
    for spec in specs:
        value = values.get((spec.path, spec.source))
        levels[spec] = None if value is None else [
            _feature_level(feature, spec, index, owner, size)
            for index, feature in enumerate(spec.select(value))]
    return levels


def _run_probe(model: nn.Module, device) -> int:
    """Run ``model.extract_feat`` on a zero image; returns the image side that ran."""
    try:
        model.extract_feat(torch.zeros(1, 3, PROBE_IMAGE_SIZE, PROBE_IMAGE_SIZE, device=device))
        return PROBE_IMAGE_SIZE
    except RuntimeError as error:
        if "can't be greater than actual input size" not in str(error):
            raise
    model.extract_feat(
        torch.zeros(1, 3, LARGE_PROBE_IMAGE_SIZE, LARGE_PROBE_IMAGE_SIZE, device=device))
    return LARGE_PROBE_IMAGE_SIZE


def _feature_level(feature, spec: FeatureSpec, index: int, owner: str,
                   image_size: int) -> FeatureLevel:
    if not isinstance(feature, Tensor) or feature.dim() != 4:
        shape = tuple(feature.shape) if isinstance(feature, Tensor) else type(feature).__name__
        raise ValueError(f"The {owner}'s '{spec}' level {index} is not an (N, C, H, W) "
                         f'feature map (got {shape}). Name backbone or neck outputs.')
    height, width = feature.shape[2:]
    return FeatureLevel(channels=int(feature.shape[1]),
                        stride=max(1, round(image_size / max(height, width))),
                        spec=str(spec), index=index)
