#!/usr/bin/env bash
# search_measure_twice.sh MERINO DIR: a short `merino search --measure` that saves its latency
# table, the same search again from that table, then `--score --measure` of the model. Passes
# when the second search times nothing, leaves the table file as it was and writes the same
# model, and --score gives the latency the YAML header recorded.
set -eu
merino=$1 dir=$2
rm -rf "$dir"
export OMP_NUM_THREADS=1  # the thread count is part of the table
search=(search --params 20M --latency-ms 60 --seq-len 16 --iterations 1000 --seed 2 --measure
        --measure-cache "$dir/table.json")
"$merino" "${search[@]}" --out "$dir/first/m.yaml"
cp "$dir/table.json" "$dir/table.first.json"
second=$("$merino" "${search[@]}" --out "$dir/second/m.yaml")
printf '%s\n' "$second"
case "$second" in
  *", 0 timed now in "*) ;;
  *) echo "the second search timed operations its table already held"; exit 1 ;;
esac
cmp "$dir/table.json" "$dir/table.first.json"
# the same model; only the command line (its --out) differs
diff <(grep -v '^# command:' "$dir/first/m.yaml") <(grep -v '^# command:' "$dir/second/m.yaml")

line=$("$merino" search --score "$dir/first/m.yaml" --measure --measure-cache "$dir/table.json")
printf '%s\n' "$line"
scored=$(printf '%.3f' "$(printf '%s\n' "$line" | sed -n 's/.*"latency_ms":\([^,}]*\).*/\1/p')")
recorded=$(sed -n 's/^# latency \([0-9.]*\) ms per forward pass .*/\1/p' "$dir/first/m.yaml")
if [ "$scored" != "$recorded" ]; then
  echo "search recorded $recorded ms, --score --measure gives $scored ms"
  exit 1
fi
echo "ok: the same model from the saved table, $recorded ms"
