"""Outputs: tables (CSV, JSON, Parquet), reports and plots, written atomically."""
