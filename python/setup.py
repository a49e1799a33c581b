"""Build glue for `pip install ./python`: runs the project's CMake build for
the `libeql_python` target and puts the module and its type stub in the wheel.

The source tree is this folder's parent (pip builds in place since 21.3);
EQL_SOURCE_DIR overrides it. CMAKE_BUILD_PARALLEL_LEVEL sets the build jobs
(default 2). Nothing is downloaded: every dependency is a Debian package.
"""
import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = pathlib.Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        source = pathlib.Path(os.environ.get("EQL_SOURCE_DIR", HERE.parent)).resolve()
        if not (source / "CMakeLists.txt").exists() or not (source / "python").is_dir():
            raise RuntimeError(f"libeql source tree not found at {source}; set EQL_SOURCE_DIR")
        build = pathlib.Path(self.build_temp).resolve() / "cmake"
        build.mkdir(parents=True, exist_ok=True)
        configure = [
            "cmake", "-S", str(source), "-B", str(build),
            "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython3_EXECUTABLE={sys.executable}",
            f"-DPYTHON_EXECUTABLE={sys.executable}",
            "-DEQL_BUILD_PYTHON=ON", "-DEQL_BUILD_TESTS=OFF", "-DEQL_BUILD_BENCH=OFF",
        ]
        if shutil.which("ninja"):
            configure += ["-G", "Ninja"]
        subprocess.run(configure, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
        subprocess.run(["cmake", "--build", str(build), "--target", "libeql_python", "-j", jobs],
                       check=True)
        built = sorted((build / "python").glob("libeql*.so"))
        if not built:
            raise RuntimeError(f"the build made no module in {build / 'python'}")
        target = pathlib.Path(self.get_ext_fullpath(ext.name)).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)
        # The stub sits beside the module so type checkers find it.
        shutil.copyfile(HERE / "libeql.pyi", target.parent / "libeql.pyi")


setup(ext_modules=[CMakeExtension("libeql")], cmdclass={"build_ext": CMakeBuild}, zip_safe=False)
