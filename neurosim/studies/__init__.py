"""Studies made of many runs: sweeps over grids, bit-depth studies."""
