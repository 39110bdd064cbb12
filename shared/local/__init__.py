"""Local mode's one process: the worker pool and the dev server (API, schedule loop, workers)."""
