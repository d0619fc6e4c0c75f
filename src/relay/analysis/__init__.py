"""What-if analysis: compare configurations side by side, run parameter sweeps on Dask.

Modules, from the bottom up:

- ``overrides``: dotted overrides of a scenario, their paths checked against the model;
- ``metrics``: the metrics of one plan (``plan_tables``, ``plan_metrics``), the same for
  a comparison and a sweep;
- ``compare``: ``compare`` and ``ComparisonResult`` (several configs, one horizon);
- ``sweepspec``: a sweep specification read into its runs (``load_sweep_spec``);
- ``results``: a sweep's results table and plot;
- ``cluster``: a sweep's runs planned on Dask (the task itself is ``relay.workers.execute_run``);
- ``sweep``: ``sweep``, the loop: keys, cache, progress bar, serial or on Dask.
"""
