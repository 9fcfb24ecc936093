#!/bin/sh
# The hyper-parameter search of docs/deep.md ("Hyper-parameter search against the paper").
# Run from the repository root with the virtualenv first on PATH:
#   PATH=$PWD/.venv/bin:$PATH sh docs/deep-search/run-search.sh
# One process, one model at a time (~0.5 s per 400-epoch model on this machine; the whole
# search is ~2,600 models, ~30 min of training). Every stage is resumable (search.py skips the models
# already in its CSV). CSVs go to runs/deep-search/ (git-ignored); the tables of the doc
# come from `python docs/deep-search/search.py table CSV [--by KEY] [--sort ...]`.
set -e
S="python docs/deep-search/search.py"
R=runs/deep-search
mkdir -p $R

# Stage A: learnability of XOR without sparsity (DEEP, then asymmetric EP on the same
# points). 108 points x 3 seeds. Base: scenarios/deep-dense-xor.yaml (eps 0.2, M_0 40).
A="--grid dynamics.beta=0.1,0.5,1.0 --grid training.learning_rate=0.2,0.5,1.0 \
   --grid directed.init_scale=0.1,0.5,1.0 --grid dynamics.estimator=one_sided,random_sign \
   --grid dynamics.t_clamped=10,40"
$S run scenarios/deep-dense-xor.yaml $R/stageA-deep-xor.csv --seeds 3 $A --quiet
$S run scenarios/deep-dense-xor.yaml $R/stageA-asym-xor.csv --seeds 3 --set dynamics.kind=asymmetric $A --quiet

# Stage B: refine around the best of A (random sign of beta), 54 points x 3 seeds, both rules.
B="--set dynamics.estimator=random_sign --grid training.learning_rate=1.0,2.0,4.0 \
   --grid dynamics.beta=0.5,1.0,2.0 --grid dynamics.t_clamped=5,10 --grid dynamics.epsilon=0.1,0.2,0.5"
$S run scenarios/deep-dense-xor.yaml $R/stageB-deep-xor.csv --seeds 3 $B --quiet
$S run scenarios/deep-dense-xor.yaml $R/stageB-asym-xor.csv --seeds 3 --set dynamics.kind=asymmetric $B --quiet

# The dynamics chosen from B for every later stage.
DYN="--set dynamics.estimator=random_sign --set dynamics.beta=1.0 --set dynamics.epsilon=0.5 --set dynamics.t_clamped=5"

# Stage C: sparsity, coarse (36 points x 3 seeds per task): l1, lambda, T, pruning start.
for t in and or xor; do
  $S run scenarios/deep-$t.yaml $R/stageC-$t.csv --seeds 3 $DYN --set training.learning_rate=1.0 \
    --grid directed.l1=0.003,0.01,0.03 --grid directed.threshold=0.05,0.2,0.5 \
    --grid directed.temperature=0.01,0.1 --grid directed.sparsity_start=0,100 --quiet
done
# Stage D: weaker l1, smaller lambda, later pruning (27 points x 3 seeds per task).
for t in and or xor; do
  $S run scenarios/deep-$t.yaml $R/stageD-$t.csv --seeds 3 $DYN --set training.learning_rate=1.0 \
    --set directed.temperature=0.01 --grid directed.l1=0.0003,0.001,0.002 \
    --grid directed.threshold=0.01,0.03,0.1 --grid directed.sparsity_start=0,100,200 --quiet
done
# Stage E: refine l1 / lambda / start (24 points x 5 seeds per task).
for t in and or xor; do
  $S run scenarios/deep-$t.yaml $R/stageE-$t.csv --seeds 5 $DYN --set training.learning_rate=1.0 \
    --set directed.temperature=0.01 --grid directed.l1=0.0012,0.0015,0.002,0.0025 \
    --grid directed.threshold=0.003,0.01,0.02 --grid directed.sparsity_start=200,300 --quiet
done
# Stage F: 800 epochs; AND (16 points) and XOR (24 points, alpha 1 and 2), 5 seeds.
$S run scenarios/deep-and.yaml $R/stageF-and.csv --seeds 5 $DYN --set training.epochs=800 \
  --set training.learning_rate=1.0 --grid directed.l1=0.001,0.0015 --grid directed.threshold=0.003,0.01 \
  --grid directed.sparsity_start=300,500 --grid directed.temperature=0.01,0.1 --quiet
$S run scenarios/deep-xor.yaml $R/stageF-xor.csv --seeds 5 $DYN --set training.epochs=800 \
  --grid training.learning_rate=1.0,2.0 --grid directed.l1=0.0005,0.00075,0.001 \
  --grid directed.threshold=0.01,0.03 --grid directed.sparsity_start=200,400 --quiet
# Stage G: XOR with weaker l1 (18 points x 5 seeds).
$S run scenarios/deep-xor.yaml $R/stageG-xor.csv --seeds 5 $DYN --set training.epochs=800 \
  --set directed.sparsity_start=200 --grid training.learning_rate=1.0,2.0 \
  --grid directed.l1=0.0002,0.0003,0.0005 --grid directed.threshold=0.01,0.03,0.1 --quiet
# Stage H: DEEP vs asymmetric EP without sparsity, 10 seeds, three points of B, all tasks.
for t in xor and or; do for k in deep asymmetric; do for p in "4.0 1.0 10" "1.0 0.5 5" "1.0 1.0 5"; do
  set -- $p
  $S run scenarios/deep-dense-$t.yaml $R/stageH-$t.csv --seeds 10 --set dynamics.estimator=random_sign \
    --set dynamics.epsilon=0.5 --grid dynamics.kind=$k --grid training.learning_rate=$1 \
    --grid dynamics.beta=$2 --grid dynamics.t_clamped=$3 --quiet
done; done; done
# Stage J: one common sparse setting at H's alpha = 4 point, 5 seeds per task.
for t in and or xor; do
  $S run scenarios/deep-$t.yaml $R/stageJ-$t.csv --seeds 5 --set dynamics.estimator=random_sign \
    --set dynamics.epsilon=0.5 --set dynamics.beta=1.0 --set dynamics.t_clamped=10 \
    --set training.learning_rate=4.0 --set training.epochs=800 --set directed.sparsity_start=200 \
    --set directed.temperature=0.01 --grid directed.l1=0.00015,0.00025,0.0004 \
    --grid directed.threshold=0.01,0.03 --quiet
done
# Stage I: the shipped best settings (scenarios/deep-search-*.yaml), 10 seeds, DEEP and
# asymmetric EP with every other key equal.
for t in and or xor; do
  $S run scenarios/deep-search-$t.yaml $R/stageI-$t.csv --seeds 10 --grid dynamics.kind=deep,asymmetric --quiet
done
# The scenarios as they were before the search, 10 seeds (the "before" column).
for f in deep-and deep-or deep-xor asym-xor asym-and asym-or deep-dense-xor deep-dense-and deep-dense-or; do
  $S run scenarios/$f.yaml $R/before-$f.csv --seeds 10 --quiet
done
# Figures: the paper's Figure 1 for the shipped scenarios (docs/deep-search/mse.png,
# study-table.md) and Figure 2 for the XOR model of seed 3 (graph-xor-seed3.png).
neurosim directed-study scenarios/deep-search-and.yaml scenarios/deep-search-or.yaml \
  scenarios/deep-search-xor.yaml scenarios/deep-search-asym-xor.yaml --seeds 10 --out $R/study --quiet
cp $R/study/mse.png docs/deep-search/mse.png
cp $R/study/table.md docs/deep-search/study-table.md
$S graph scenarios/deep-search-xor.yaml 3 docs/deep-search/graph-xor-seed3.png
# The tables of docs/deep-search/tables.md.
sh docs/deep-search/tables.sh > docs/deep-search/tables.md
