"""Drift reports: baseline vs current data, judged against a contract.

Heavy libraries (pandas, scipy, matplotlib, pandera, great_expectations) are imported only by
the modules that need them, which only `guard drift report` loads.
"""
