# Everything is in setup.cfg; this file lets pip build without an isolated environment (offline).
from setuptools import setup

setup()
