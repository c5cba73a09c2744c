# LD: GFL ResNet-101 ms-2x (teacher, 44.7 box AP) -> GFL ResNet-50 1x (student). Main-region
# box-distribution KD on the student's ATSS positives: T 10, mean over the 17 bins, weight
# 0.25, each edge weighted by the student's top class score, /4 per level (mmdet's LD setting;
# no VLR, no classification KD).
# Published (LD README, not reproduced here): 40.1 -> 41.1 box AP (mmdet: 41.0).
_base_ = '../_base_/pairs/gfl_r101-r50.py'

model = dict(
    distillers=dict(
        ld=dict(type='LD', teacher='neck',
                loss=dict(type='LocalizationKDLoss', temperature=10.0, bin_reduction='mean',
                          loss_weight=0.25))))
