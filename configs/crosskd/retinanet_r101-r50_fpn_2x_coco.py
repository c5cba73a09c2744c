# CrossKD: RetinaNet ResNet-101 2x (teacher, 38.9 box AP) -> ResNet-50 2x (student). Cross
# point after conv 3 of 4; quality-focal binary KD on the cross-head scores (weight 1) and
# GIoU between the cross-head and teacher boxes decoded with the anchors (weight 1,
# weighted by the teacher's max score), both / #pos: the published setting.
# Published (CrossKD README, not reproduced here): 37.4 -> 39.7 box AP.
_base_ = '../_base_/pairs/retinanet_r101-r50_2x.py'

model = dict(
    distillers=dict(crosskd=dict(type='CrossKD', teacher='neck', student_convs=3)))
