"""Identifiers shared by every stage.

A pass is numbered by the geometry stage (an integer, the row of the pass in
time order); from the planning instance on, and in every file, it is spelled
``P`` and five digits (``P00028``).  :func:`pass_label` is the one place that
spelling is made.
"""
from __future__ import annotations


def pass_label(pass_id) -> str:
    """The spelling of a pass id in problems, plans and files: ``P`` and five digits."""
    return f"P{int(pass_id):05d}"


__all__ = ["pass_label"]
