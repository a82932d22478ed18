"""pprofx.runtime: in-process collectors (standard library only).

Today: the CPU and wall-clock sampler (``sampler``, ``frames``), its API (``cpu``) and
profiler labels (``labels``). Heap, thread/task and lock collectors arrive with their issues.
"""
