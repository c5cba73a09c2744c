"""PKD: levels paired by index, with adapters only where the channels differ."""
import pytest
import torch

from mmkd.models.distillers import PKD
from mmkd.models.losses import PKDLoss

from helpers import levels, set_up


def test_pkd_pairs_levels_by_index_and_adapts_channels_only_where_needed():
    distiller = PKD('neck[:2]')
    set_up(distiller, levels((64, 8), (128, 16)), levels((128, 4), (128, 8)))
    assert isinstance(distiller.adapters[0], torch.nn.Conv2d)
    assert (distiller.adapters[0].in_channels, distiller.adapters[0].out_channels) == (64, 128)
    assert isinstance(distiller.adapters[1], torch.nn.Identity)  # as published: no adapter
    s = [torch.randn(2, 64, 4, 4), torch.randn(2, 128, 2, 2)]
    t = [torch.randn(2, 128, 8, 8), torch.randn(2, 128, 4, 4)]
    expected = PKDLoss(loss_weight=6.)([distiller.adapters[0](s[0]), s[1]], t)
    assert distiller(s, t, None)['loss'].item() == pytest.approx(expected.item(), rel=1e-6)
