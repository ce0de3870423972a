"""Only the optional C extension; everything else is in pyproject.toml.

`optional=True`: without a C compiler the install still succeeds and
site/textutil.py uses its Python code instead (slower, same results).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "newsmirror.site._textscan",
            ["src/newsmirror/site/_textscan.c"],
            optional=True,
        )
    ]
)
