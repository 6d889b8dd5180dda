"""The measurement behind the cpu profile's training budget (README "The cpu profile"): learning curves.

    python bench/bench_budget.py --model dSPIC-AM --dataset D1 --epochs 30 --precision bf16 --out curves.csv

Trains one network of the zoo on one dataset of the profile (the project's own builders, data, split,
initialisation and input standardisation: :func:`dspic_lib.pipeline.train._train`'s steps) and writes, per
epoch, the training loss, the validation loss / accuracy / balanced accuracy (the numbers the stopping rule
may look at) and the TEST accuracy and balanced accuracy with the test part's majority share (numbers the
profile never looks at when it trains: here only to see how a stopping rule would have fared), and the
seconds of the epoch. Nothing is stored; nothing of this decides a result of the book.
"""
from __future__ import annotations

import argparse
import csv
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--model", default="dSPIC-AM")
    ap.add_argument("--dataset", default="D1")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--init", default="he")
    ap.add_argument("--learning-rate", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--class-weight", default="none", help="none | cohort")
    ap.add_argument("--no-determinism", action="store_true", help="leave TensorFlow's op determinism off")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    from sklearn.metrics import balanced_accuracy_score

    from dspic_lib import models
    from dspic_lib._tf import keras, tf
    from dspic_lib.pipeline import lineage
    from dspic_lib.pipeline.context import Context
    from dspic_lib.pipeline.inputs import batches, train_one_epoch
    from dspic_lib.pipeline.train import (
        _balanced_accuracy,
        _evaluate,
        head_targets,
        precision_policy,
        predict,
        standardization,
        validation_split,
    )

    overrides = {"precision": a.precision, "init": a.init}
    if a.learning_rate:
        overrides["learning_rate"] = a.learning_rate
    ctx = Context.create(a.profile, overrides=overrides, progress=True)
    profile = ctx.profile
    build = lineage.of(ctx).plan(a.dataset).materialize()
    keras.utils.set_random_seed(a.seed)
    if not a.no_determinism:
        tf.config.experimental.enable_op_determinism()
    train, val = validation_split(build.train.meta, a.seed)
    X, y = build.train.X, head_targets(build.train.y, "softmax")
    mean, sd = standardization(X, train)
    if a.class_weight == "cohort":
        from dspic_lib.pipeline.train import cohort_class_weights
        w = cohort_class_weights(y[train], build.train.meta["source"].to_numpy()[train] == "original")
        print("class weights", w, flush=True)
        y = y * w[None, :].astype(np.float32)
    policy = precision_policy(profile.precision)
    keras.config.set_dtype_policy(policy)
    model = models.build(a.model, input_shape=profile.input_shape, seed=a.seed, init=profile.init,
                         standardize=True)
    models.set_standardization(model, mean, sd)
    model.compile(optimizer=keras.optimizers.Adam(profile.learning_rate), loss="categorical_crossentropy")
    test_y = build.test.y
    single = test_y.max(axis=1) == 1.0
    truth = test_y[single].argmax(1)
    majority = float(np.bincount(truth).max() / len(truth))
    with open(a.out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["model", "dataset", "policy", "init", "epoch", "seconds", "loss", "val_loss", "val_accuracy",
                    "val_balanced_accuracy", "test_accuracy", "test_balanced_accuracy", "test_majority"])
        for epoch in range(1, a.epochs + 1):
            t0 = time.perf_counter()
            loss = train_one_epoch(model, batches(X, y, train, batch_size=profile.batch_size, seed=a.seed * 1000 + epoch))
            seconds = time.perf_counter() - t0
            val_loss, val_acc, val_proba = _evaluate(model, X, y, val, profile.batch_size)
            val_bacc = _balanced_accuracy(y[val], val_proba, "softmax")
            proba = predict(model, build.test.X, profile.batch_size)[single]
            acc = float((proba.argmax(1) == truth).mean())
            bacc = float(balanced_accuracy_score(truth, proba.argmax(1)))
            w.writerow([a.model, a.dataset, policy, profile.init, epoch, round(seconds, 2), loss, val_loss, val_acc,
                        val_bacc, acc, bacc, majority])
            fh.flush()
            print(f"{a.model} {a.dataset} {policy} ep {epoch:2d} {seconds:5.1f}s loss {loss:.3f} val_loss {val_loss:.3f} "
                  f"val_bacc {val_bacc:.3f} test_acc {acc:.3f} test_bacc {bacc:.3f} (majority {majority:.3f})", flush=True)


if __name__ == "__main__":
    main()
