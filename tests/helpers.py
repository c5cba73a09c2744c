"""Independent reference computations shared by the tests, and the float32 tolerances
they are compared with."""
import math

import torch
import torch.nn.functional as F

from mmkd.models.distillers import DistillerContext

FLOAT32_EPS = torch.finfo(torch.float32).eps


def manual_kd(student_logits, teacher_logits, temperature, weight):
    """KL(p_t || p_s) with p = softmax(z / T), averaged over rows, times weight * T^2,
    written out with exp/log on float64 python numbers (no torch softmax or kl_div)."""
    s = student_logits.detach().double() / temperature
    t = teacher_logits.detach().double() / temperature
    total = 0.
    for s_row, t_row in zip(s.tolist(), t.tolist()):
        zs = sum(math.exp(v) for v in s_row)
        zt = sum(math.exp(v) for v in t_row)
        p_t = [math.exp(v) / zt for v in t_row]
        p_s = [math.exp(v) / zs for v in s_row]
        total += sum(pt * (math.log(pt) - math.log(ps)) for pt, ps in zip(p_t, p_s))
    return weight * temperature ** 2 * total / len(s)


def kd_rounding_tolerance(student_logits, teacher_logits, temperature, weight):
    """How far a float32 computation of :func:`manual_kd` may be from the float64 value.

    The KL of two close distributions is a small difference of large terms
    ``p_t * log p_t - p_t * log p_s``: each float32 log-probability carries a rounding
    error of a few ulps of its own magnitude (log-sum-exp: subtraction, exp, sum, log),
    which does not shrink with the KL. The bound is 8 ulps of the summed magnitudes
    ``sum_c p_t (|log p_t| + |log p_s|)`` per row, averaged like the loss and scaled by
    ``weight * T^2``. The order of the reductions (and so the thread count) moves the
    result within this bound; a wrong temperature, weight or normaliser moves it by far
    more (in the cascade test the KL is over 20x the bound).
    """
    log_s = F.log_softmax(student_logits.detach().double() / temperature, dim=1)
    log_t = F.log_softmax(teacher_logits.detach().double() / temperature, dim=1)
    magnitude = (log_t.exp() * (log_t.abs() + log_s.abs())).sum(dim=1).mean().item()
    return 8 * FLOAT32_EPS * weight * temperature ** 2 * magnitude


def set_up(distiller, student_levels, teacher_levels, student=None, teacher=None):
    """Set ``distiller`` up as its host would, on given levels (no probe, no pairing);
    ``student``/``teacher`` stand in for the detectors where the distiller reads them."""
    distiller.setup(DistillerContext(student, teacher, distiller.student_specs,
                                     distiller.teacher_specs, student_levels, teacher_levels))
    return distiller
