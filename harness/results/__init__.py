"""Results: the records of decided claims, the run record, costs and baselines."""
