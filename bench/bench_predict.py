"""Benchmark: `dspic predict` end to end on synthetic 1024 x 256 NM DICOM files (a script, not a test).

Writes N files, exports an untrained dSPIC-AM at the `cpu` resolution (256 x 64) and prints images/s
(read, decode, input checks, Eq. 1 + resize, model), then the parts alone; target >= 50 img/s on the
project's 2-core machine. Same as `dspic bench predict`; options: --n, --batch-size, --workers, --json.
"""
import sys

from dspic_lib.cli.bench import _cli, register

if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="bench/bench_predict.py")
    register(parser.add_subparsers(dest="command", required=True))
    sys.exit(_cli(parser.parse_args(["bench", "predict", *sys.argv[1:]])))
