#!/usr/bin/env python3
"""Plot a run's metrics.jsonl: training and validation loss, and the learning rate.

usage: scripts/plot_metrics.py RUN/metrics.jsonl [-o loss.png]
Needs matplotlib (Debian: apt-get install python3-matplotlib).
"""
import argparse
import json
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics", help="metrics.jsonl written by merino train")
    parser.add_argument("-o", "--output", default="metrics.png", help="PNG to write")
    args = parser.parse_args()

    train, val, lr = [], [], []
    with open(args.metrics) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                print(f"{args.metrics}:{n}: skipping a line that is not JSON", file=sys.stderr)
                continue
            if "loss" in record:
                train.append((record["step"], record["loss"]))
                lr.append((record["step"], record["lr"]))
            if "val_loss" in record:
                val.append((record["step"], record["val_loss"]))
    if not train:
        sys.exit(f"{args.metrics}: no training records")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_lr) = plt.subplots(2, 1, figsize=(8, 6), sharex=True,
                                         gridspec_kw={"height_ratios": [3, 1]})
    ax_loss.plot(*zip(*train), label="train loss", linewidth=1)
    if val:
        ax_loss.plot(*zip(*val), "o-", label="validation loss")
    ax_loss.set_ylabel("loss (nats/token)")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)
    ax_lr.plot(*zip(*lr), color="tab:green")
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_xlabel("step")
    ax_lr.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
