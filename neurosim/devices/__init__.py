"""Devices: quantisers, the fused step kernels, device files, energy tables and the device banks."""
