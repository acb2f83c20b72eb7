"""Inspection: what a network does to an input (tracing), per-layer tables, and figures."""
