#!/usr/bin/env bash
# Every jumping run issues 13 and 14 still need, in rounds: round s runs seed s of every cell
# that wants at least s seeds, so each table fills evenly and none waits for another's tenth
# seed. Lanes share one list: each lane claims its next job under a lock (the claim holds the
# lane's PID; a claim whose PID is gone, e.g. from a killed session, is taken over), so any
# number of lanes can run side by side, started and stopped at any time. Finished seeds are
# skipped (their JSON exists); a killed seed resumes from its mid-run checkpoint.
#
# Cells (folder: preset and flags; seeds wanted):
#   Table 1 narrow/random: randconv, pse, dropout-l2 (5 each); randconv-pse (10 each);
#     from session 17 its RandConv + Bisimulation row (randconv-bisim-l2, 5 each; fp32 like
#     the wide cell, whose seeds Table 2 shares)
#   Table 2 (wide): randconv-psm-cme, randconv-psm-l2, randconv-bisim-cme, randconv-bisim-l2 (5)
#   Table G.1 (wide): the four *-colors presets on the 6-channel input (1 each from session
#     17, down from 5: the 5-D reading below is the paper's; these fp32 runs take 3-4 h a seed;
#     from session 19 the presets read the 5-D input themselves, so these lines say
#     colors_input=6-channel and the 5-D lines' --set colors_input=official-5d is redundant)
#   Figure 5 (wide): ε = 0.5 exact; sampled ε = 0.1 and 0.3 (5 each)
#   PSE gap (wide): Eq. 4 loss and coupling weights to 10 seeds; lr_decay = 1.0 (3); from
#     session 19 the coupling weights on the random grid too (3), where `pse` sits 20 points
#     below the paper: whether the weighted loss closes that gap as it does most of the wide one
#     (fp32 like `pse-random`, so that the same seeds differ in the loss alone); from session
#     20 on the narrow grid too (3, fp32), where the unweighted `pse` already matches the paper:
#     one loss has to fit all three columns, so whether the weights keep narrow near 9.3 tells
#     which loss the paper's row ran (seed 1: 7.5, the paper's 9.3, so the weighted loss fits
#     all three); and RandConv + PSEs wide with the weights (3, auto precision: bf16 where the
#     CPU has bf16 units, like `randconv-pse-wide-bf16`), the row that matches the paper
#     unweighted: whether one loss can fit both PSE rows (seeds 1-2: 92.2, 91.0, so it does).
#     From session 21 these three weighted cells want 5 seeds (up from 3): the Γ-weighted loss
#     is now our reading of the paper's PSE rows, and 5 is what every Table 1 cell gets
#   RandConv on colors (wide, from session 13): rand_conv_rgb = per-channel (1), the RandConv
#     that never mixes colors, beside the default `mix` whose agents jump on green (seed 1)
#   Table G.1 with the official 5-D input (wide, from session 15): the four *-colors presets
#     with colors_input = official-5d (5 seeds each from session 17: at seed 1 this reading
#     gives the paper's RandConv pair, Dropout's red and RandConv + PSEs' green, where the
#     6-channel one does not); ~4x the cost of a 6-channel step in fp32.
#     From session 16 in --precision auto: bf16 where the CPU has bf16 units (2.5x faster
#     there; bf16 is indistinguishable from fp32 for pse at 10 + 10 seeds and for randconv-pse
#     at 10 + 7, results/jumping/precision-*.md), fp32 elsewhere; each record says which
#   Precision (wide): randconv-pse bf16 seeds 6-10, only where bf16 hardware is (see below)
# The dropout-l2 cells (cross-entropy their only loss) flush denormals (--flush-denormal; from
# session 11): without it their weights decay into the subnormal range and an epoch runs 4.5x
# slower on an Intel Xeon (benchmarks/results/jumping_denormals.md). The other presets' final
# weights hold no subnormal value, flushing or not.
#
#   SRC=<pinned worktree>/src OUT=$PWD/results/jumping [PY=<python>] [DRY=1] [ONLY=<regex>] \
#       [SKIP=<regex>] results/jumping/run_queue_s11.sh          # one lane; start one per core
# DRY=1 prints the jobs still to do, in order, each with the minutes `pisces jumping eta` expects
# it to take here, and their total in lane-hours; it claims nothing. ONLY keeps the cells whose
# folder matches the extended regex (e.g. ONLY=-5d- for a lane of the 5-D cells only); SKIP
# drops those whose folder matches (e.g. SKIP=-5d- for every cell but those).
# FILL=1 (from session 21) makes a lane go on, once its own cells are done or none of their
# seeds fits before DEADLINE, to the cells its ONLY and SKIP dropped (the 5-D lane's seeds take
# ~1-2 h, so near a deadline it would otherwise idle while the other lane still has short jobs).
# DEADLINE (from session 19; anything `date -d` reads, e.g. DEADLINE=01:25 or "+170 min") starts
# only the seeds that `pisces jumping eta` expects to finish before it (an unknown estimate
# runs): a session ends its lanes, and on a fresh machine a seed cut off loses all its work, so
# the last hour goes to the short jobs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
OUT="${OUT:-$here}"
[ -n "${SRC:-}" ] && export PYTHONPATH="$SRC"
export OMP_NUM_THREADS=1
PY="${PY:-$repo/.venv/bin/python}"
P="$PY -m pisces.cli jumping train --device cpu --threads 1 --save-model"
deadline=""
if [ -n "${DEADLINE:-}" ]; then
  deadline=$(date -d "$DEADLINE" +%s)
  # a clock time already past today (DEADLINE=01:20 at 23:00) means tomorrow's
  [ "$deadline" -gt "$(date +%s)" ] || deadline=$(( deadline + 86400 ))
fi

# eta DIR SEED [LIKE]: sets `need` to the seconds `pisces jumping eta` expects one more seed of
# DIR to take on this CPU, going by LIKE's runs while DIR has none ("" with nothing to go by).
need=""
eta() {
  local like=()
  [ -z "${3:-}" ] || like=(--like "$OUT/$3")
  # a cell with no folder yet makes eta fail: no estimate, not the lane's end (set -e)
  need=$({ $PY -m pisces.cli jumping eta "$OUT/$1" --seed "$2" "${like[@]}" 2>/dev/null || true; } \
    | cut -d' ' -f1)
  [[ "$need" =~ ^[0-9]+$ ]] || need=""
}

# fits DIR SEED: with a DEADLINE, whether the seed is expected to finish before it (uses the
# `need` that eta set for this seed).
fits() {
  [ -n "$deadline" ] || return 0
  local left
  left=$(( deadline - $(date +%s) ))
  [ -n "$need" ] || return 0
  if [ "$need" -gt "$left" ]; then
    echo "$1 seed $2: not started, ~$(( need / 60 )) min expected, $(( left / 60 )) min left" >&2
    return 1
  fi
}

# folder|seeds wanted|arguments after `jumping train`[|the folder whose run times to go by
# while this one has none, for DEADLINE and DRY]
cells=(
  "randconv-narrow|5|--preset randconv --grid narrow"
  "randconv-random|5|--preset randconv --grid random"
  "pse-narrow|5|--preset pse --grid narrow"
  "pse-random|5|--preset pse --grid random"
  "dropout-l2-narrow|5|--preset dropout-l2 --grid narrow --flush-denormal"
  "dropout-l2-random|5|--preset dropout-l2 --grid random --flush-denormal"
  "randconv-pse-narrow|10|--preset randconv-pse --grid narrow"
  "randconv-pse-random|10|--preset randconv-pse --grid random"
  "randconv-bisim-l2-narrow|5|--preset randconv-bisim-l2 --grid narrow --precision fp32"
  "randconv-bisim-l2-random|5|--preset randconv-bisim-l2 --grid random --precision fp32"
  "randconv-psm-cme-wide|5|--preset randconv-psm-cme --grid wide"
  "randconv-psm-l2-wide|5|--preset randconv-psm-l2 --grid wide"
  "randconv-bisim-cme-wide|5|--preset randconv-bisim-cme --grid wide"
  "randconv-bisim-l2-wide|5|--preset randconv-bisim-l2 --grid wide"
  "fig5-exact-eps0.5|5|--preset randconv-pse --grid wide --set psm_epsilon=0.5"
  "fig5-sampled-eps0.1|5|--preset randconv-pse --grid wide --set psm_epsilon=0.1 --set psm_epsilon_mode=sampled"
  "fig5-sampled-eps0.3|5|--preset randconv-pse --grid wide --set psm_epsilon=0.3 --set psm_epsilon_mode=sampled"
  "dropout-l2-colors-wide|1|--preset dropout-l2-colors --grid wide --set colors_input=6-channel --flush-denormal"
  "pse-colors-wide|1|--preset pse-colors --grid wide --set colors_input=6-channel"
  "randconv-colors-wide|1|--preset randconv-colors --grid wide --set colors_input=6-channel"
  "randconv-pse-colors-wide|1|--preset randconv-pse-colors --grid wide --set colors_input=6-channel"
  "pse-paper-variant-wide|10|--preset pse --grid wide --loss-variant paper"
  "pse-coupling-wide|10|--preset pse --grid wide --coupling-weights"
  "pse-coupling-random|5|--preset pse --grid random --coupling-weights --precision fp32|pse-random"
  "pse-coupling-narrow|5|--preset pse --grid narrow --coupling-weights --precision fp32|pse-narrow"
  "randconv-pse-coupling-wide|5|--preset randconv-pse --grid wide --coupling-weights --precision auto|randconv-pse-wide-bf16"
  "pse-lr-decay1-wide|3|--preset pse --grid wide --set lr_decay=1.0"
  "randconv-colors-perchannel-wide|1|--preset randconv-colors --grid wide --set colors_input=6-channel --set rand_conv_rgb=per-channel"
  "randconv-colors-5d-wide|5|--preset randconv-colors --grid wide --set colors_input=official-5d --precision auto"
  "dropout-l2-colors-5d-wide|5|--preset dropout-l2-colors --grid wide --set colors_input=official-5d --flush-denormal --precision auto"
  "pse-colors-5d-wide|5|--preset pse-colors --grid wide --set colors_input=official-5d --precision auto"
  "randconv-pse-colors-5d-wide|5|--preset randconv-pse-colors --grid wide --set colors_input=official-5d --precision auto"
)
# bf16 randconv-pse seeds 6-10 (the precision comparison): only on a CPU with bf16 units,
# where they come first (bf16 is emulated and 2.3x slower than fp32 elsewhere).
if $PY -c "import sys; from pisces.experiments.runs import bf16_hardware as h; sys.exit(not h('cpu'))"; then
  cells=("randconv-pse-wide-bf16|10|--preset randconv-pse --grid wide --precision bf16" "${cells[@]}")
fi

lock="$OUT/.queue-s11.lock"
mkdir -p "$OUT"

# claim DIR SEED: succeed (and hold the claim) if the seed is not done and no live lane has it.
# Under the lock, the claim is read before the JSON: a lane releases its claim (under the lock
# too) only after its seed's JSON is written, so a free claim means done or abandoned.
claim() {
  local dir="$OUT/$1" seed
  seed=$(printf '%03d' "$2")
  [ -e "$dir/seed-$seed.json" ] && return 1
  [ -n "${DRY:-}" ] && return 0
  (
    flock 9
    f="$dir/.claim-seed-$seed"
    owner=$(cat "$f" 2>/dev/null || true)
    if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then exit 1; fi
    [ -e "$dir/seed-$seed.json" ] && exit 1
    mkdir -p "$dir"
    echo $$ > "$f"
  ) 9> "$lock"
}

release() {
  ( flock 9; rm -f "$OUT/$1/.claim-seed-$(printf '%03d' "$2")" ) 9> "$lock"
}

# kept DIR: whether the lane's ONLY and SKIP keep the cell.
kept() {
  if [ -n "${ONLY:-}" ] && ! grep -Eq -- "$ONLY" <<< "$1"; then return 1; fi
  if [ -n "${SKIP:-}" ] && grep -Eq -- "$SKIP" <<< "$1"; then return 1; fi
  return 0
}

# one pass over the rounds: `main` runs the cells the lane keeps, `fill` the ones it drops
pass() {
  for s in 1 2 3 4 5 6 7 8 9 10; do
    for cell in "${cells[@]}"; do
      IFS='|' read -r dir want args like <<< "$cell"
      [ "$s" -le "$want" ] || continue
      if [ "$1" = main ]; then kept "$dir" || continue; else ! kept "$dir" || continue; fi
      [ -e "$OUT/$dir/seed-$(printf '%03d' "$s").json" ] && continue
      need=""
      if [ -n "$deadline" ] || [ -n "${DRY:-}" ]; then eta "$dir" "$s" "$like"; fi
      fits "$dir" "$s" || continue
      claim "$dir" "$s" || continue
      if [ -n "${DRY:-}" ]; then
        jobs=$(( jobs + 1 ))
        if [ -n "$need" ]; then
          total=$(( total + need ))
          echo "$dir seed $s: $args  (~$(( need / 60 )) min here)"
        else
          unknown=$(( unknown + 1 ))
          echo "$dir seed $s: $args  (no estimate)"
        fi
        continue
      fi
      # shellcheck disable=SC2086  # $args is a list of flags
      $P $args --seeds "$s" --out "$OUT/$dir" || echo "$dir seed $s failed (exit $?)" >&2
      release "$dir" "$s"
    done
  done
}

jobs=0 total=0 unknown=0
pass main
# FILL=1: then the cells ONLY and SKIP dropped, so a lane whose own cells are done (or none of
# whose seeds fits before DEADLINE) helps the other lanes instead of idling; claims keep two
# lanes off one seed. Without ONLY or SKIP there is nothing to fill with.
if [ -n "${FILL:-}" ] && { [ -n "${ONLY:-}" ] || [ -n "${SKIP:-}" ]; }; then
  if [ -n "${DRY:-}" ]; then echo "# then (FILL) the cells ONLY and SKIP dropped:"; fi
  pass fill
fi
if [ -n "${DRY:-}" ]; then
  echo "# $jobs job(s): ~$(awk "BEGIN { printf \"%.1f\", $total / 3600 }") lane-hours on this CPU" \
    "for the $(( jobs - unknown )) with an estimate, $unknown without"
fi
