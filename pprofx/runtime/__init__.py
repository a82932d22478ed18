"""pprofx.runtime: in-process collectors (standard library only, plus the optional C heap hook).

CPU and wall-clock sampling (``sampler``, ``frames``, ``cpu``) and profiler labels
(``labels``); threads and asyncio tasks (``threads``, the goroutine profile) and thread
creation (``threadcreate``); heap and allocation sampling (``heap``, with the C hook in
``_heap_c`` and the tracemalloc twin in ``heap_fallback``); block and mutex contention
(``locks``, ``contention``); runtime gauges (``gauges``).
"""
