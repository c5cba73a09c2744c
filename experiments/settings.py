"""What the demo sets beyond its configs, in one place: configs/demo/ stay plain mmdet
configs (configs/demo/pretrain/ plain mmpretrain ones) that ``python tools/train.py``
runs as written.

Each table is keyed by the config file name (for the data: the ``data_root``) its entry
belongs to. Names that match no config are refused, as are option keys that are not in
their config (:func:`.regime.pretrained_regime_options`,
:func:`.catalog.pretraining_detectors`, :func:`.data.shapes_settings`).
"""

# The generated shapes dataset (mmkd.data.make_shapes_dataset) in each data_root of the
# demo configs, all of which inherit configs/demo/_base_/shapes_detection.py; its image
# size is the config's own ``image_size`` (the one its pipeline resizes to).
# Dataset seed 1: the demo was developed and its settings were tuned on seed-0 data only
# (--data-seed 0), so the reported val split was never looked at while choosing them.
SHAPES_DATA = {
    'data/shapes_demo/': dict(num_train=1000, num_val=300, max_objects=5, seed=1),
}

# tools/demo.py --pretrained: the --cfg-options a method config of configs/demo/ gets when
# its students start from pretrained backbones. The loss weights were chosen for that
# regime on the tuning data (dataset seed 0, its own pretrained teacher, one student seed;
# never the reported split): README "The pretrained regime" has the sweeps.
PRETRAINED_REGIME = {
    # weights 0.2 to 9.6: +0.3 to +13.3 box AP over the baseline, best at 9.6
    'faster-rcnn_fitnet.py': {'model.distillers.fitnet.loss.loss_weight': 9.6},
    # weights 0.01 to 0.4: best at 0.1 (+6.0 box AP), -2.0 at 0.4
    'faster-rcnn_fgfi.py': {'model.distillers.fgfi.loss.loss_weight': 0.1},
    # weights 0.2 to 9.6: +2.0 to +8.6 box AP, best at 9.6
    'faster-rcnn_reviewkd.py': {'model.distillers.reviewkd.loss.loss_weight': 9.6},
}

# tools/demo.py --weights auto (the default with --dataset, whose user has no tuning split):
# the loss_balance every distillation config of configs/demo/ gets, as --cfg-options.
# Each distiller is scaled to a ratio of the detection loss, measured over the first 50
# steps at which its loss is on (the length of the demo's LR warm-up), then frozen; the
# warm-up scales with --iters like the distillers' own. With pretrained backbones the ratio
# is each distiller's own (loss_balance's default: 8 for feature losses, 1 for prediction
# losses); from scratch it is 1 for all: on the from-scratch tuning data ReviewKD did best at
# weight 0.2 (about 1.5 times the detection loss) and fell below the baseline at 1.2 (about
# 9 times).
AUTO_WEIGHTS = dict(warmup_iters=50, ratio_from_scratch=1.0)

# The configs of configs/demo/ whose backbone a config of configs/demo/pretrain/ pretrains
# (same depth and width): tools/demo.py --pretrained starts their stages from its
# checkpoint, and the pretraining checks that the checkpoint loads into each of them.
BACKBONE_PRETRAINING = {
    'resnet34-half.py': ('faster-rcnn_teacher.py', 'mask-rcnn_teacher.py',
                         'retinanet_teacher.py'),
    'resnet18-quarter.py': ('faster-rcnn_student.py', 'mask-rcnn_student.py',
                            'retinanet_student.py'),
}
