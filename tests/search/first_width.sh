# Sourced by the search CLI tests: first_width FILE.yaml prints the first block's d_model (the
# embedding width) from a model YAML as `merino search` writes it.
first_width() { sed -n 's/^    - {layers: [0-9]*, d_model: \([0-9]*\),.*/\1/p' "$1" | head -1; }
