#!/bin/bash
# The real-proxy arms of issue 35: REINFORCE + zero-cost screen, plain REINFORCE; 32 trials, seeds 0-2.
cd /work/main
export RAY_USAGE_STATS_ENABLED=0
for arm in screen plain; do
  for s in 0 1 2; do
    out=results/screen-headline/$arm-seed$s
    extra=""; [ $arm = screen ] && extra="screen=zero_cost"
    res=""; [ -f $out/config.yaml ] && res="resume=true"
    if [ -f $out/summary.json ] && [ $(($(wc -l < $out/trials.csv)-1)) -ge 32 ]; then continue; fi
    echo "== $arm seed $s $(date)"
    .venv/bin/spinenas search searcher=reinforce seed=$s trials=32 $extra out_dir=$out $res
  done
done
echo "== done $(date)"
