"""benchmarks/selection_report.py: what a spread-weighted final choice would change."""

import importlib
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, os.pardir, "benchmarks")


@pytest.fixture(scope="module")
def report():
    sys.path.insert(0, BENCH)
    try:
        yield importlib.import_module("selection_report")
    finally:
        sys.path.remove(BENCH)


def record(means, stds, chosen, fresh):
    return {"time_points": [{"return_mean": fresh, "selection": {
        "eval_scores": list(means), "final_means": list(means), "final_stds": list(stds),
        "episodes": 10, "chosen": chosen}}]}


def test_spread_lines_counts_changed_choices_and_splits_losses(report):
    records = [
        # mean picks 0 (3,000 ± 600); less one standard error (190) it falls below 2,950 ± 10
        record([3000.0, 2950.0], [600.0, 10.0], 0, 2700.0),
        # the steady network leads on both rules
        record([3100.0, 2000.0], [20.0, 900.0], 0, 3060.0),
        {"time_points": [{"return_mean": 1.0}]},  # no selection: ignored
    ]
    (line,) = report.spread_lines(records)
    assert "another network in 1 of 2 runs" in line
    assert "40 (1 runs) when its selection std is under 150" in line
    assert "300 (1 runs) when it is 150 or more" in line


def test_spread_lines_without_selections_is_empty(report):
    assert report.spread_lines([{"time_points": [{"return_mean": 1.0}]}]) == []
