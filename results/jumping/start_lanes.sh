#!/usr/bin/env bash
# Start the jumping-task queue's two background lanes (run_queue_s11.sh) the way every session
# since 11 has, in one command: a worktree pinned at HEAD (edits in this checkout never reach a
# running seed), the pinned commit's queue copied out of the tree, lane D on the 5-D colored
# cells and lane C on the rest, each at the lowest CPU priority across sessions (autogroup
# nice 19), logs in runs/. Each lane resumes its seeds from their mid-run checkpoints where the
# machine kept them.
#
#   results/jumping/start_lanes.sh TAG [DEADLINE]
#
# TAG names the pin (../pin-TAG), the queue copy (/tmp/q-TAG.sh) and the logs
# (runs/lane-{C,D}.TAG.log); DEADLINE (e.g. 01:20: the session's end less the time to land what
# finished) is passed to the queue, which then starts only the seeds expected to finish before
# it. Each lane fills (FILL=1, from session 21): once none of its own cells' seeds is left or
# fits before DEADLINE, it goes on to the other lane's cells. LANES="D" (or "C") starts one
# lane only (default "D C"). Prints the commands it ran, for COMMANDS.md. Stop a lane with
# `kill -- -<its PGID>`.
set -euo pipefail
tag="${1:?usage: start_lanes.sh TAG [DEADLINE]}"
deadline="${2:-}"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
[ -x .venv/bin/python ] || { echo "no .venv: run 'make .venv/.installed' first" >&2; exit 1; }
pin="$(cd .. && pwd)/pin-$tag"
if [ ! -d "$pin" ]; then
  git worktree add --detach "$pin" HEAD > /dev/null
fi
queue="/tmp/q-$tag.sh"
cp "$pin/results/jumping/run_queue_s11.sh" "$queue"  # the pinned commit's queue, not this checkout's
mkdir -p runs
commit="$(git -C "$pin" rev-parse --short HEAD)"
echo "# lanes from $pin at $commit${deadline:+, DEADLINE=$deadline}"
for lane in ${LANES:-D C}; do
  if [ "$lane" = D ]; then filter=(ONLY=-5d-); else filter=(SKIP=-5d-); fi
  log="runs/lane-$lane.$tag.log"
  env PY="$repo/.venv/bin/python" SRC="$pin/src" OUT="$repo/results/jumping" "${filter[@]}" FILL=1 \
    ${deadline:+DEADLINE="$deadline"} setsid nohup bash "$queue" > "$log" 2>&1 &
  echo "PY=\$PWD/.venv/bin/python SRC=$pin/src OUT=\$PWD/results/jumping ${filter[*]} FILL=1" \
    "${deadline:+DEADLINE=$deadline }setsid nohup bash $queue > $log 2>&1 &"
done
sleep 2
for p in $(pgrep -f "$queue"); do echo 19 > "/proc/$p/autogroup"; done
echo "for p in \$(pgrep -f '$queue'); do echo 19 > /proc/\$p/autogroup; done"
