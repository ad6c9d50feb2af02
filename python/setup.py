"""Build the reprint Python package: reprint._core is compiled from the
library's own sources (../src/*.c, ../include) plus python/src/_core.c, with
the CPython limited API of Python 3.11, so one abi3 wheel serves every
Python >= 3.11.

`pip install ./python` (from the project root) or `pip install .` (from
python/) builds in place; the library sources are referenced by relative path,
so the package is built from a checkout of the whole project, not from an
sdist of python/ alone."""
import glob
import os
import sys
import sysconfig

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def rel(path):
    return os.path.relpath(path, HERE)


lib_sources = sorted(glob.glob(os.path.join(ROOT, "src", "*.c")))
if not lib_sources or not os.path.exists(os.path.join(ROOT, "include", "reprint.h")):
    sys.exit("reprint: the library sources (../src, ../include) are not next to python/; "
             "build from a checkout of the whole project: pip install ./python")

if not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")):
    sys.exit("reprint: Python.h is missing: install the Python headers (Debian: apt-get install python3-dev; "
             "python3-pip recommends it)")

core = Extension(
    "reprint._core",
    sources=[rel(os.path.join(HERE, "src", "_core.c"))] + [rel(s) for s in lib_sources],
    include_dirs=[rel(os.path.join(ROOT, "include")), rel(os.path.join(ROOT, "src"))],
    define_macros=[("Py_LIMITED_API", "0x030B0000"), ("_GNU_SOURCE", None)],
    extra_compile_args=["-std=c11", "-O2", "-fvisibility=hidden"],
    libraries=["utf8proc", "xxhash", "isal", "zstd", "z", "pthread", "m"],
    py_limited_api=True,
)

setup(
    ext_modules=[core],
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
