"""Build of the optional C accelerators (everything else is declared in pyproject.toml).

Each extension is optional: when it cannot be compiled the pure-Python twin is used.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "pprofx.profile._wire_c",
            sources=["pprofx/_native/wiredecode.c"],
            optional=True,
        ),
    ],
)
