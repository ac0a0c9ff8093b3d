"""gluon_style: neural style transfer in MXNet/Gluon (optimization and fast modes)."""
import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
    with open(os.path.join(HERE, "gluon_style", "__init__.py")) as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def _requirements():
    with open(os.path.join(HERE, "requirements.txt")) as f:
        return [line.split("#")[0].strip() for line in f if line.split("#")[0].strip()]


setup(
    name="gluon_style",
    version=_version(),
    description="Neural style transfer in MXNet/Gluon: Gatys optimization and Johnson fast mode",
    long_description=open(os.path.join(HERE, "README.md")).read() if os.path.exists(
        os.path.join(HERE, "README.md")) else "",
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.9,<3.12",
    packages=find_packages(include=["gluon_style", "gluon_style.*"]),
    package_data={"gluon_style": ["data/*"], "gluon_style.app": ["static/*"]},
    install_requires=_requirements(),
    extras_require={"test": ["pytest>=7", "selenium>=4.10,<5", "ruff==0.17.6"],
                    # bulk stylization (gluon_style.fast.bulk, fast --dask); dask 2025 needs
                    # numpy >= 1.24, which mxnet 1.9.1 does not take
                    "dask": ["dask[distributed]>=2023.1,<2025", "distributed>=2023.1,<2025",
                             "fsspec>=2023.1"]},
    entry_points={"console_scripts": ["gluon-style=gluon_style.transfer:main_exit"]},
)
