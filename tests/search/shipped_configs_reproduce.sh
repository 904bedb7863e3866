#!/usr/bin/env bash
# shipped_configs_reproduce.sh MERINO DIR: runs the command recorded in each configs/merino-*.yaml
# header (with --out into DIR, same file name) and checks it writes the same model YAML and the
# same search log, apart from the --out path and the wall time.
set -eu
merino=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
status=0
for yaml in configs/merino-*m.yaml; do
  name=$(basename "$yaml" .yaml)
  cmd=$(sed -n 's/^# command: merino search //p' "$yaml")
  if [ -z "$cmd" ]; then
    echo "FAIL: $yaml has no '# command: merino search' line"
    status=1
    continue
  fi
  # shellcheck disable=SC2086  # the recorded command is plain words (cli/search.cpp shell_word)
  "$merino" search ${cmd/--out $yaml/--out $dir/$name.yaml} >/dev/null
  python3 - "$yaml" "$dir/$name.yaml" <<'PY' || status=1
import json, sys
shipped, again = sys.argv[1], sys.argv[2]
def yaml_lines(p):
    return [l for l in open(p) if not l.startswith("# command:")]
def log_events(p):
    events = [json.loads(l) for l in open(p.replace(".yaml", ".search.jsonl"))]
    for e in events:
        e.pop("command", None)
        e.pop("seconds", None)
    return events
if yaml_lines(shipped) != yaml_lines(again):
    sys.exit("FAIL: %s: its command writes another model" % shipped)
if log_events(shipped) != log_events(again):
    sys.exit("FAIL: %s: its command writes another search log" % shipped)
print("ok: %s" % shipped)
PY
done
exit $status
