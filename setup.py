from setuptools import Extension, setup

# The C twin of pprofx/profile/_wire_py.py (see pprofx/_native/README.md). optional=True: if
# it fails to compile, the install still succeeds and pprofx falls back to the pure-Python reader.
setup(
    ext_modules=[
        Extension(
            "pprofx.profile._wire_c",
            sources=["pprofx/_native/wiredecode.c"],
            optional=True,
        )
    ]
)
