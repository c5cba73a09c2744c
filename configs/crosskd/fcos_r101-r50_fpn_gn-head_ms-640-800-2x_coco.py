# CrossKD: FCOS ResNet-101 caffe GN-head ms-2x (teacher, 40.8 box AP) -> FCOS ResNet-50
# caffe GN-head ms-2x (student). Cross point after conv 2 of 4 (not 3); quality-focal binary
# KD at every point (weight 0.4) and IoU loss (-log IoU) on the decoded boxes (weight 0.75,
# weighted by the teacher's max score), both / FCOS's box normaliser (the positives'
# centerness targets summed): the published setting. No centerness KD.
# Published (CrossKD README, not reproduced here): 38.5 -> 41.1 box AP.
_base_ = '../_base_/pairs/fcos_r101-r50.py'

model = dict(
    distillers=dict(crosskd=dict(type='CrossKD', teacher='neck', student_convs=2)))
