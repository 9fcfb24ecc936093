"""neurosim: a behavioural simulator of analog neuromorphic hardware learning with Equilibrium Propagation."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("neurosim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"


def open_run(path):
    """Read a run file into named arrays; see :func:`neurosim.runfile.read.open_run`."""
    from neurosim.runfile.read import open_run as _open_run

    return _open_run(path)
