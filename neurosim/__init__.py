"""neurosim: a behavioural simulator of analog neuromorphic hardware learning with Equilibrium Propagation.

The Python API (``docs/api.md``)::

    import neurosim as ns
    sim = ns.build("scenarios/quickstart.yaml")   # a Simulation: data, model, controller
    sim.train(epochs=1, observers=[ns.StateMonitor("state", "output")])
    run = ns.open_run("runs/quickstart.h5")        # read a run file (imports nothing of training)

Names are loaded on first use, so reading run files stays light.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("neurosim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

_EXPORTS = {
    "open_run": "neurosim.runfile.read",
    "Run": "neurosim.runfile.read",
    "build": "neurosim.api",
    "Simulation": "neurosim.api",
    "StateMonitor": "neurosim.observe.monitor",
    "Observer": "neurosim.observe.observer",
    "load_scenario": "neurosim.config.scenario",
    "train": "neurosim.training.loop",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'neurosim' has no attribute {name!r}")
