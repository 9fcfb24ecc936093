"""Directed EP ("DEEP", Tristany Farinha et al.) on complete directed graphs.

One concept per module: :mod:`graph` (which neurons and connections exist),
:mod:`synapses` (the directed synapse bank), :mod:`dynamics` (the vector fields of eq. 1
and of asymmetric vector-field EP, integrated with the hard sigmoid), :mod:`rules`
(eq. 2 and the one-step asymmetric rule, ℓ1), :mod:`sparsity` (eq. 3), :mod:`stability`
(Propositions 1 and 2), :mod:`tasks` (logic operations), :mod:`train` (the training
loop), :mod:`ledger` (its hardware actions), :mod:`recorder` (the HDF5 run file) and
:mod:`study` (seeded repetitions, table and figures).
"""
