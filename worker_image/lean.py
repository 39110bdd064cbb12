"""Imported first by the worker entry points, to keep their memory down.

`import httpx` also imports its command-line module (`httpx._main`), which pulls in click, rich and
pygments, about 5 MB that a worker never uses; httpx skips it when that import fails, as it does
where those packages are missing. Marking the module absent makes the import fail."""

import sys

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
