"""Every method together on every mmdet detector family: a loss from each and gradients
where they belong."""
import pytest

from helpers import FAMILIES, R18, build_small, distillation_config, train_one_step

ALL_METHODS = dict(
    reviewkd=dict(type='ReviewKD', student='neck', teacher='neck', mid_channels=64),
    fitnet=dict(type='FitNet', student='neck', teacher='neck'),
    fgfi=dict(type='FGFI', student='neck', teacher='neck', warmup_iters=0),
    kd=dict(type='KD', teacher='neck'),
    pkd=dict(type='PKD', student='neck', teacher='neck'),
    cwd=dict(type='CWD', student='neck', teacher='neck'),
    mgd=dict(type='MGD', student='neck', teacher='neck'),
    fgd=dict(type='FGD', student='neck', teacher='neck'))


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_every_method_trains_on_every_family(family, shapes_data, tmp_path):
    """Every method together on one pair of the family: one build, one step, a loss from
    each and gradients where they belong."""
    pair = FAMILIES[family]
    if isinstance(pair, str):
        pair = (dict(cfg_path=pair, **R18), pair)
    model, data = build_small(distillation_config(*pair, ALL_METHODS), shapes_data, tmp_path)
    kd = model.distillers['kd']
    assert kd.kind == ('cascade' if family == 'cascade-rcnn' else 'dense')
    assert model.distillers['fgfi']._anchors.points[0] == (family in ('fcos', 'rtmdet'))
    losses = train_one_step(model, data)
    assert set(losses) == {f'distill_{name}_{key}' for name in ALL_METHODS
                           for key in model.distillers[name].loss_names()}
