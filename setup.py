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
        # The C twin of the CPU/wall sampler's StackWalker (pprofx/_native/stackcapture.c);
        # without it pprofx.runtime.frames.StackWalker (pure Python) reads the stacks.
        Extension(
            "pprofx.runtime._stacks_c",
            sources=["pprofx/_native/stackcapture.c"],
            optional=True,
        ),
        # The C twin of the lock wrappers of pprofx/runtime/locks.py (pprofx/_native/profiledlock.c);
        # without it the block/mutex profiles use the pure-Python ProfiledLock/ProfiledRLock.
        Extension(
            "pprofx.runtime._locks_c",
            sources=["pprofx/_native/profiledlock.c"],
            optional=True,
        ),
    ]
)
