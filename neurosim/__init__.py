"""neurosim: a behavioural simulator of analog neuromorphic hardware learning with Equilibrium Propagation."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("neurosim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"
