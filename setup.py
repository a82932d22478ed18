from setuptools import Extension, setup

# The C twin of pprofx/profile/_wire_py.py (see pprofx/_native/README.md). optional=True: if
# it fails to compile, the install still succeeds and pprofx falls back to the pure-Python reader.
setup(
    ext_modules=[
        Extension(
            "pprofx.profile._wire_c",
            sources=["pprofx/_native/wiredecode.c"],
            optional=True,
        ),
        # The allocator hook of the heap profiler (pprofx/_native/heapsampler.c); without it
        # pprofx.runtime.heap falls back to tracemalloc (the slow path).
        Extension(
            "pprofx.runtime._heap_c",
            sources=["pprofx/_native/heapsampler.c"],
            libraries=["m"],
            optional=True,
        ),
    ]
)
