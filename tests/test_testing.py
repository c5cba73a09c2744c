"""mmkd.testing.small_detector shrinks every detector family for the CPU."""
from mmkd.config import detector_config
from mmkd.testing import small_detector

from helpers import FAMILIES


def test_small_detector_shrinks_every_family():
    cascade = small_detector(detector_config(FAMILIES['cascade-rcnn'], 'x'), 3)
    assert [h.num_classes for h in cascade.roi_head.bbox_head] == [3, 3, 3]
    assert [s.sampler.num for s in cascade.train_cfg.rcnn] == [64, 64, 64]
    assert 'init_cfg' not in cascade.backbone
    rtmdet = small_detector(detector_config(FAMILIES['rtmdet'][0], 'x'), 3)
    assert (rtmdet.bbox_head.num_classes, rtmdet.bbox_head.stacked_convs,
            rtmdet.bbox_head.feat_channels) == (3, 1, 64)
    assert rtmdet.test_cfg.nms_pre == 100 and 'init_cfg' not in rtmdet.backbone
    assert rtmdet.neck.out_channels == 96  # the neck is kept as configured
    convnext = small_detector(detector_config(
        'mmdet::convnext/mask-rcnn_convnext-t-p4-w7_fpn_amp-ms-crop-3x_coco.py', 'x'), 3)
    assert 'init_cfg' not in convnext.backbone and convnext.backbone.arch == 'tiny'
    assert convnext.roi_head.mask_head.num_classes == 3
    yolox = small_detector(detector_config(
        'mmdet::yolox/yolox_tiny_8xb8-300e_coco.py', 'x'), 3)
    assert yolox.data_preprocessor.batch_augments is None
