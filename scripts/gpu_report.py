#!/usr/bin/env python3
"""Writes gpu-report.json and gpu-report.md from what scripts/gpu-check.sh left in its raw
folder: runs.tsv (every run of every step: status, seconds, note), preflight/ (nvidia-smi,
nvcc, torch), targets.tsv and build.log, checks.json (cuda_production_check), ctest-gpu.xml
(ctest's JUnit) with gpu-tests-listed.txt, bench/*.json (Google Benchmark), op_breakdown.jsonl
(bench_cuda_model --op_breakdown), bench/pytorch_*.txt and sanitizer/*.log.

Failures (exit 1): a build target that failed, a production check, a GPU test, a merino program
that failed or crashed, a benchmark error, a sanitizer run that found errors. A PyTorch baseline
that fails is a warning, not a failure of merino. Exit 0 otherwise; 2 on bad input.

usage: gpu_report.py --raw DIR --out DIR --build DIR --budget S --have-device 0|1 --plan "step:s ..."
"""
import argparse
import datetime
import glob
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

DATASHEET_NOTE = ("MFU: against NVIDIA's datasheet dense peak (989 TFLOP/s bf16, 67 fp32 on an "
                  "H100 SXM; an H200 the same), the convention MFU is published in; "
                  "mfu_boost_clock: against SMs x the boost clock the driver reports")
PYTORCH_STEPS = {"sdpa", "pytorch"}


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def git(root, *args):
    try:
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def device_info(raw):
    pre = os.path.join(raw, "preflight")
    info = {"nvidia_smi": read(os.path.join(pre, "nvidia-smi.txt")).strip(),
            "nvcc": read(os.path.join(pre, "nvcc.txt")).strip(),
            "torch": read(os.path.join(pre, "torch.txt")).strip().splitlines()[-1:] or [""]}
    info["torch"] = info["torch"][0]
    csv = read(os.path.join(pre, "nvidia-smi.csv")).strip().splitlines()
    if csv:
        keys = ["name", "driver", "memory", "compute_cap", "max_sm_clock", "max_mem_clock",
                "sm_clock", "mem_clock"]
        info.update(dict(zip(keys, [v.strip() for v in csv[0].split(",")])))
        info["gpus"] = len(csv)
    # SM clock, memory clock, power, temperature sampled during bench_cuda_model's bf16 runs
    samples = [[v.strip() for v in l.split(",")]
               for l in read(os.path.join(raw, "clocks-model.csv")).splitlines() if l.count(",") == 3]
    sm = sorted(int(v[0].split()[0]) for v in samples if v[0].split()[0].isdigit())
    if sm:
        info["sm_clock_under_load"] = f"{sm[len(sm) // 2]} MHz median, {sm[0]}-{sm[-1]} MHz"
        info["load_samples"] = samples
    return info


def runs_by_step(raw):
    runs = []
    for line in read(os.path.join(raw, "runs.tsv")).splitlines():
        parts = line.split("\t")
        if len(parts) >= 4:
            runs.append({"step": parts[0], "run": parts[1], "status": parts[2],
                         "seconds": int(parts[3] or 0), "note": parts[4] if len(parts) > 4 else ""})
    return runs


def step_status(runs):
    """one line for a step from its runs: the first failure, else their one shared status"""
    statuses = [r["status"] for r in runs]
    if not statuses:
        return "not run"
    of = lambda hits: hits[0] + (f" ({len(hits)} of {len(statuses)} runs)" if len(statuses) > 1 else "")
    for word in ("failed", "stopped"):
        hits = [s for s in statuses if s.startswith(word)]
        if hits:
            return of(hits)
    if len(set(statuses)) == 1:
        return statuses[0]
    return "partly: " + ", ".join(sorted(set(statuses)))


def tests(raw, unrun_status):
    """every test ctest listed: its JUnit status, else unrun_status (it never started)"""
    xml = os.path.join(raw, "ctest-gpu.xml")
    listed = [t for t in read(os.path.join(raw, "gpu-tests-listed.txt")).splitlines() if t]
    results = []
    if os.path.exists(xml):
        for tc in ET.parse(xml).getroot().iter("testcase"):
            if tc.find("failure") is not None or tc.get("status") == "fail":
                status = "failed"
            elif tc.find("skipped") is not None or tc.get("status") in ("notrun", "disabled"):
                status = "skipped"
            else:
                status = "passed"
            results.append({"name": tc.get("name"), "status": status,
                            "time_s": float(tc.get("time") or 0)})
    seen = {t["name"] for t in results}
    results += [{"name": n, "status": unrun_status, "time_s": 0.0}
                for n in listed if n not in seen]
    return results


STANDARD = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
            "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
            "time_unit", "error_occurred", "error_message", "aggregate_name", "aggregate_unit",
            "label"}


def benchmarks(raw):
    results, notes = [], []
    for path in sorted(glob.glob(os.path.join(raw, "bench", "*.json"))):
        prog = os.path.basename(path)[:-5]
        text = read(path)
        if text.lstrip().startswith("SKIPPED"):
            notes.append(f"{prog}: {text.strip().splitlines()[0]}")
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            notes.append(f"{prog}: output is not JSON (crashed or stopped?), see bench/{prog}.log")
            continue
        for b in data.get("benchmarks", []):
            results.append({
                "program": prog, "name": b.get("name"), "time": b.get("real_time"),
                "time_unit": b.get("time_unit"), "iterations": b.get("iterations"),
                "counters": {k: v for k, v in b.items()
                             if k not in STANDARD and isinstance(v, (int, float))},
                "label": b.get("label", ""),
                "error": b.get("error_message") if b.get("error_occurred") else None})
    return results, notes


def op_breakdown(raw):
    out = []
    for line in read(os.path.join(raw, "op_breakdown.jsonl")).splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def main():
    ap = argparse.ArgumentParser()
    for a in ("--raw", "--out", "--build", "--budget", "--have-device", "--plan"):
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    if not os.path.isdir(args.raw):
        print(f"gpu_report.py: {args.raw}: not a folder", file=sys.stderr)
        return 2
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    raw = args.raw
    plan = [(p.split(":")[0], int(p.split(":")[1])) for p in args.plan.split()]
    runs = runs_by_step(raw)
    steps = [{"step": s, "budget_s": b, "status": step_status([r for r in runs if r["step"] == s]),
              "seconds": sum(r["seconds"] for r in runs if r["step"] == s),
              "runs": [r for r in runs if r["step"] == s]} for s, b in plan]

    targets = [dict(zip(("target", "status"), l.split("\t")))
               for l in read(os.path.join(raw, "targets.tsv")).splitlines() if "\t" in l]
    build_errors = [l for l in read(os.path.join(raw, "build.log")).splitlines()
                    if l.startswith("FAILED: ")]
    checks = json.loads(read(os.path.join(raw, "checks.json"), "[]") or "[]")
    tests_step = next(s for s in steps if s["step"] == "tests")
    test_results = tests(raw, tests_step["status"] if tests_step["status"].startswith("skipped")
                         else "not run: time budget")
    counts = {k: sum(t["status"].startswith(k) for t in test_results)
              for k in ("passed", "failed", "skipped", "not run")}
    counts["total"] = len(test_results)
    benches, bench_notes = benchmarks(raw)
    breakdown = op_breakdown(raw)
    mfu = [{"benchmark": b["name"], **{k: b["counters"].get(k) for k in
            ("tokens/s", "TFLOP/s", "mfu", "peak_TFLOP/s", "mfu_boost_clock",
             "boost_clock_peak_TFLOP/s", "gemm_ratio", "peak_GiB")}}
           for b in benches if b["program"].startswith("bench_cuda_model") and not b["error"]]

    failures, warnings = [], []
    failures += [f"build: {t['target']} failed to build" for t in targets if t["status"] == "failed"]
    failures += [f"check {c['check']}: {c['detail']}" for c in checks if not c.get("passed")]
    failures += [f"test {t['name']} failed" for t in test_results if t["status"] == "failed"]
    failures += [f"benchmark {b['program']} {b['name']}: {b['error']}" for b in benches if b["error"]]
    for r in runs:
        if not r["status"].startswith("failed") or r["step"] == "tests":
            continue  # each failed test is listed on its own
        if r["step"] == "build" and any(t["status"] == "failed" for t in targets):
            continue  # so is each failed target
        if r["step"] == "checks" and any(not c.get("passed") for c in checks):
            continue  # so is each failed check (the program's exit 1 says no more)
        line = f"{r['step']} / {r['run']}: {r['status']}" + (f": {r['note']}" if r["note"] else "")
        (warnings if r["step"] in PYTORCH_STEPS else failures).append(line)
    not_run = [f"{s['step']}: {s['status']}" for s in steps
               if s["status"] != "ok" and not s["status"].startswith("failed")]
    not_run += [f"test {t['name']}: {t['status']}" for t in test_results
                if t["status"].startswith("not run")]

    commit = os.environ.get("GIT_COMMIT") or git(root, "rev-parse", "HEAD")
    dirty = bool(git(root, "status", "--porcelain")) if not os.environ.get("GIT_COMMIT") else False
    device = device_info(raw)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": commit or "unknown (no .git here: pass GIT_COMMIT)", "git_dirty": dirty,
        "device": device, "have_device": args.have_device == "1", "build_dir": args.build,
        "budget_s": int(args.budget), "steps": steps, "failures": failures, "warnings": warnings,
        "not_run": not_run, "build_targets": targets, "build_errors": build_errors,
        "checks": checks, "tests": counts, "test_details": test_results, "mfu": mfu,
        "mfu_convention": DATASHEET_NOTE, "op_breakdown": breakdown, "benchmarks": benches,
        "benchmark_notes": bench_notes,
    }
    with open(os.path.join(args.out, "gpu-report.json"), "w") as f:
        json.dump(report, f, indent=2)

    md = ["# merino GPU check", "",
          f"- date: {report['date']}",
          f"- commit: `{report['git_commit']}`" + (" (dirty tree)" if dirty else ""),
          f"- {device['nvidia_smi']}",
          f"- GPU: {device.get('name', 'none')}, driver {device.get('driver', '-')}, "
          f"{device.get('memory', '-')}, compute capability {device.get('compute_cap', '-')}; clocks "
          f"SM {device.get('sm_clock', '-')} (max {device.get('max_sm_clock', '-')}), memory "
          f"{device.get('mem_clock', '-')} (max {device.get('max_mem_clock', '-')}); SM clock during "
          f"bench_cuda_model: {device.get('sm_clock_under_load', '-')}",
          f"- nvcc: {device['nvcc'] or '-'}; {device['torch'] or 'torch: -'}",
          f"- budget {args.budget} s; build `{args.build}`", "",
          f"## Result: {len(failures)} failure(s)", ""]
    md += [f"- FAILED {f}" for f in failures] or ["- none"]
    md += [f"- warning: {w}" for w in warnings]
    md += ["", "## Steps", "", "| step | budget s | used s | status |", "|---|---:|---:|---|"]
    md += [f"| {s['step']} | {s['budget_s']} | {s['seconds']} | {s['status']} |" for s in steps]
    if not_run:
        md += ["", "Not run or cut short: " + "; ".join(not_run) + "."]
    if targets:
        built = sum(t["status"] == "built" for t in targets)
        md += ["", f"Build: {built} of {len(targets)} targets built"]
        md += [f"- {t['target']}: {t['status']}" for t in targets if t["status"] != "built"]
        md += [f"- `{e}`" for e in build_errors[:10]]
    if checks:
        md += ["", "## Checks at production shapes", "", "| check | result | detail |", "|---|---|---|"]
        md += [f"| {c['check']} | {'pass' if c['passed'] else 'FAIL'} | {c['detail']} |" for c in checks]
    if mfu:
        md += ["", "## End-to-end step (bench_cuda_model)", "", DATASHEET_NOTE + ".", "",
               "| benchmark | tokens/s | TFLOP/s | MFU | MFU (boost clock) | gemm_ratio | peak GiB |",
               "|---|---:|---:|---:|---:|---:|---:|"]
        fmt = lambda v, f: (f % v) if isinstance(v, (int, float)) else "-"
        md += [f"| {m['benchmark']} | {fmt(m['tokens/s'], '%.0f')} | {fmt(m['TFLOP/s'], '%.1f')} | "
               f"{fmt(100 * m['mfu'] if m['mfu'] is not None else None, '%.1f%%')} | "
               f"{fmt(100 * m['mfu_boost_clock'] if m['mfu_boost_clock'] is not None else None, '%.1f%%')} | "
               f"{fmt(m['gemm_ratio'], '%.2f')} | {fmt(m['peak_GiB'], '%.1f')} |" for m in mfu]
    for b in breakdown:
        step_ms = b.get("step_ms") or 0.0
        md += ["", f"### One step by op: {b.get('benchmark')} ({step_ms:.2f} ms)", "",
               "| op | calls | ms | % of step |", "|---|---:|---:|---:|"]
        total = 0.0
        for o in b.get("ops", []):
            total += o["ms"]
            md.append(f"| {o['op']} | {o['calls']} | {o['ms']:.3f} | "
                      f"{100 * o['ms'] / step_ms if step_ms else 0:.1f} |")
        md.append(f"| (between ops) | | {step_ms - total:.3f} | "
                  f"{100 * (step_ms - total) / step_ms if step_ms else 0:.1f} |")
    md += ["", f"## GPU tests (ctest -L gpu)", "",
           "| passed | failed | skipped | not run | total |", "|---:|---:|---:|---:|---:|",
           f"| {counts['passed']} | {counts['failed']} | {counts['skipped']} | {counts['not run']} | "
           f"{counts['total']} |", ""]
    md += [f"- {t['name']}: {t['status']}" for t in test_results if t["status"] != "passed"]
    md += ["", "## Benchmarks", ""]
    if benches:
        md += ["| program | benchmark | time | counters | note |", "|---|---|---:|---|---|"]
        for b in benches:
            t = f"{b['time']:.3f} {b['time_unit']}" if b["time"] is not None else ""
            counters = ", ".join(f"{k} {v:.3g}" for k, v in sorted(b["counters"].items()))
            md.append(f"| {b['program']} | {b['name']} | {t} | {counters} | "
                      f"{b['error'] or b['label'] or ''} |")
    md += [f"- {n}" for n in bench_notes]
    for txt, title in (("pytorch_attention.txt", "cuDNN / Flash SDPA (bench/pytorch_attention.py)"),
                       ("pytorch_baseline.txt", "PyTorch on the same shapes (bench/pytorch_baseline.py)")):
        text = read(os.path.join(raw, "bench", txt)).strip()
        if text:
            md += ["", "## " + title, "", "```"] + text.splitlines() + ["```"]
    sanitizer = [r for r in runs if r["step"] == "sanitizer" and r["run"] != "-"]
    if sanitizer:
        md += ["", "## compute-sanitizer", "", "| run | status | s |", "|---|---|---:|"]
        md += [f"| {r['run']} | {r['status']} | {r['seconds']} |" for r in sanitizer]
    with open(os.path.join(args.out, "gpu-report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print(f"report: {len(failures)} failures, {len(warnings)} warnings; tests {counts['passed']} "
          f"passed, {counts['failed']} failed, {counts['skipped']} skipped, {counts['not run']} not "
          f"run; {len(benches)} benchmark results; not run: {len(not_run)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
