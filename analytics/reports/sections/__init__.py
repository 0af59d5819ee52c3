"""Headless-report section adapters: one module per report section (keys are a stable contract)."""
