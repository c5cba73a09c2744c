"""Small formatting helpers shared by the demo's and the benchmarks' reports."""
import statistics
from typing import Dict, List, Optional, Sequence


def mean_std(values: Sequence[float]) -> Dict[str, float]:
    """``dict(mean, std)`` rounded to 2 decimals; std 0 for a single value."""
    mean = statistics.mean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.
    return dict(mean=round(mean, 2), std=round(std, 2))


def duration(seconds: float) -> str:
    """``'3m07s'``, or ``'42s'`` under a minute."""
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f'{minutes}m{seconds:02d}s' if minutes else f'{seconds}s'


def number(value: Optional[float], digits: int = 3, suffix: str = '') -> str:
    """A fixed-point number, or an em dash for a missing value."""
    return '—' if value is None else f'{value:.{digits}f}{suffix}'


def markdown_table(header: List[str], rows: List[List[str]]) -> str:
    """A GitHub markdown table."""
    lines = [header, ['---'] * len(header)] + rows
    return '\n'.join('| ' + ' | '.join(row) + ' |' for row in lines)
