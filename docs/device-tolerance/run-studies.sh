#!/bin/bash
# The studies of docs/device-tolerance.md, one after the other on one worker process, then
# the tables and plots copied here. Run from the repository root (about 40 minutes on one
# core of a shared 2-core machine). Re-running it skips every run already complete.
set -e
S=docs/device-tolerance/quickstart-pulsed.yaml
T=${1:-runs/tolerance}
N="neurosim tolerance $S --workers 1 --quiet"
$N --param synapse.pulsed.up_down=0.01,0.03,0.1,0.3,0.6 --out $T/up_down
$N --param synapse.read.out_noise=0.01,0.03,0.1,0.3,1.0 --out $T/out_noise
$N --param synapse.pulsed.corrupt_devices_prob=0.01,0.05,0.2,0.5,0.9 --out $T/corrupt
$N --param synapse.pulsed.dw_min_dtod=0.3,1.0,3.0,10.0 --out $T/dtod
$N --param synapse.pulsed.dw_min=0.0002,0.001,0.003,0.01,0.03,0.1 --reference ideal --out $T/dw_min
$N --set datapath=bp --param synapse.pulsed.up_down=0.01,0.03,0.1,0.3,0.6 --out $T/bp_up_down
$N --set datapath=bp --set 'training.learning_rate=[0.2,0.1]' \
   --param synapse.pulsed.up_down=0.01,0.03,0.1,0.3,0.6 --out $T/bp2_up_down
$N --set device_overrides.synapse.read.shared_between_phases=true \
   --param synapse.read.out_noise=0.01,0.03,0.1,0.3,1.0 --out $T/shared_out_noise
$N --set dynamics.t_clamped=30 --set device_overrides.synapse.read.out_noise=0.1 \
   --param synapse.read.shared_between_phases=true --out $T/shared_t30
python docs/device-tolerance/combine.py $T docs/device-tolerance
