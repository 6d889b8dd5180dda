"""Benchmark: dSPIC-AM at the `cpu` resolution on this machine (a script, not a test).

Prints training and inference images/s, the achieved GFLOP/s and its ratio to a NumPy float32
matmul peak measured in the same run (goal: >= 50 % of that peak at batch 32), then the cheap levers
(thread settings, XLA jit, batch size, data layout). Same as `dspic bench`; options: --help.
"""
import sys

from dspic_lib.cli.bench import _cli, register

if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="bench/bench_models.py")
    register(parser.add_subparsers(dest="command", required=True))
    sys.exit(_cli(parser.parse_args(["bench", *sys.argv[1:]])))
