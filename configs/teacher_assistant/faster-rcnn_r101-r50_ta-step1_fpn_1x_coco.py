# Teacher assistant (Mirzadeh et al., 2020), step 1 of 2: R101 -> R50 -> R18 instead of
# R101 -> R18 directly, to bridge the capacity gap. This step distils the assistant, a
# Faster R-CNN ResNet-50, from the ResNet-101 (ReviewKD on FPN P2..P6, the paper's R101->R50
# setting); step 2 (faster-rcnn_r50ta-r18_ta-step2_fpn_1x_coco.py) distils the ResNet-18
# from the exported ResNet-50. From the repository root:
#
#   python tools/train.py configs/teacher_assistant/faster-rcnn_r101-r50_ta-step1_fpn_1x_coco.py
#   python tools/export_student.py \
#       configs/teacher_assistant/faster-rcnn_r101-r50_ta-step1_fpn_1x_coco.py \
#       work_dirs/faster-rcnn_r101-r50_ta-step1_fpn_1x_coco/epoch_12.pth \
#       work_dirs/faster-rcnn_r101-r50_ta-step1_fpn_1x_coco/export
#   python tools/train.py configs/teacher_assistant/faster-rcnn_r50ta-r18_ta-step2_fpn_1x_coco.py
#
# The export writes export/student.pth + export/student_config.py (a plain mmdet R50
# detector), which step 2 names as its teacher. Longer chains repeat the pattern.
_base_ = '../reviewkd/faster-rcnn_r101-r50_fpn_1x_coco.py'
