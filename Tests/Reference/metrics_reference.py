"""Reference values for EmoPipeline's metrics, scalers and paired tests (scikit-learn / SciPy / NumPy).

Writes Tests/EmoPipelineTests/Fixtures/evalkit/metrics_reference.json. Run from the repository root:
    /work/refenv/bin/python Tests/Reference/metrics_reference.py
Inputs come from a fixed NumPy seed; the Swift tests (MetricsReferenceTests, ScalingTests, StatsTests) read the
inputs and the expected outputs from the JSON and compare with the tolerances stated there.
"""
import json
import os
import sys

import numpy as np
import scipy
import sklearn
from scipy import stats
from sklearn.impute import SimpleImputer
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score,
                             precision_recall_fscore_support, roc_auc_score)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler
from sklearn.utils.class_weight import compute_class_weight

SEED = 20261122
OUT = os.path.join("Tests", "EmoPipelineTests", "Fixtures", "evalkit", "metrics_reference.json")


def none_if_nan(x):
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)


def metrics_case(name, y_true, y_pred, k, scores=None):
    labels = list(range(k))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    case = {
        "name": name, "classes": k, "truth": [int(v) for v in y_true], "predicted": [int(v) for v in y_pred],
        "accuracy": accuracy_score(y_true, y_pred),
        "balancedAccuracy": balanced_accuracy_score(y_true, y_pred),
        "macroF1": f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
        "weightedF1": f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0),
        "precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(), "support": s.tolist(),
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    if scores is not None:
        case["scores"] = scores.tolist()
        y = np.asarray(y_true)
        case["auc"] = [roc_auc_score(y == c, scores[:, c]) if 0 < (y == c).sum() < len(y) else None
                       for c in labels]
        if len(set(y_true)) == k:
            case["macroAUC"] = roc_auc_score(y_true, scores, multi_class="ovr", average="macro", labels=labels)
            case["weightedAUC"] = roc_auc_score(y_true, scores, multi_class="ovr", average="weighted", labels=labels)
        else:
            case["macroAUC"] = None
            case["weightedAUC"] = None
    return case


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def main():
    rng = np.random.default_rng(SEED)
    print(f"numpy {np.__version__} scipy {scipy.__version__} scikit-learn {sklearn.__version__} python {sys.version.split()[0]}")

    # --- classification metrics -------------------------------------------------------------------
    metrics = []
    k, n = 7, 240
    y_true = rng.integers(0, k, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, k, n))
    logits = rng.normal(size=(n, k)) + 2.0 * np.eye(k)[y_true]
    # Whole hundredths summing to 100 per row: many exactly tied scores, so the AUC tie handling matters, and no
    # two scores differ by a rounding error only (which would make the tie pattern depend on float parsing).
    q = np.round(softmax(logits) * 100).astype(int)
    q[np.arange(n), q.argmax(axis=1)] += 100 - q.sum(axis=1)
    probs = q / 100.0
    metrics.append(metrics_case("seven-classes-tied-scores", y_true, y_pred, k, probs))

    # Class 4 never occurs in the truth, class 2 is never predicted.
    k, n = 5, 60
    y_true = rng.choice([0, 1, 2, 3], n)
    y_pred = rng.choice([0, 1, 3, 4], n)
    scores = rng.integers(0, 4, size=(n, k)).astype(float)  # integer scores: heavy ties
    metrics.append(metrics_case("absent-classes-integer-scores", y_true, y_pred, k, scores))

    k, n = 3, 12
    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 0, 1, 2, 1, 1, 1, 0, 2, 2, 0, 2])
    scores = np.array([[.5, .3, .2], [.5, .3, .2], [.3, .5, .2], [.2, .3, .5], [.3, .5, .2], [.3, .5, .2],
                       [.2, .6, .2], [.5, .3, .2], [.2, .3, .5], [.2, .3, .5], [.5, .3, .2], [.1, .3, .6]])
    metrics.append(metrics_case("three-classes-hand", y_true, y_pred, k, scores))

    # --- scalers (imputer fitted on train, then the scaler, as one pipeline) ------------------------
    x_train = rng.normal(loc=[0, 5, -3, 100, 0, 1], scale=[1, 2, 0.5, 30, 1, 1e-3], size=(40, 6))
    x_train[:, 4] = 7.0  # a constant column: scale must become 1
    x_train[rng.random(x_train.shape) < 0.08] = np.nan
    x_test = rng.normal(loc=[0, 5, -3, 100, 0, 1], scale=[1, 2, 0.5, 30, 1, 1e-3], size=(15, 6))
    x_test[rng.random(x_test.shape) < 0.1] = np.nan
    # EmoKit features are Float32: give scikit-learn the same Float32-representable inputs (it computes in float64).
    x_train = x_train.astype(np.float32).astype(np.float64)
    x_test = x_test.astype(np.float32).astype(np.float64)
    scalers = []
    for name, scaler in [("standard", StandardScaler()), ("min-max", MinMaxScaler()), ("robust", RobustScaler())]:
        pipe = make_pipeline(SimpleImputer(strategy="mean"), scaler).fit(x_train)
        scalers.append({
            "method": name,
            "trainTransformed": pipe.transform(x_train).tolist(),
            "testTransformed": pipe.transform(x_test).tolist(),
            "imputedTrain": np.isnan(x_train).sum(axis=0).tolist(),
            "imputedTest": np.isnan(x_test).sum(axis=0).tolist(),
        })
    nan_list = lambda a: [[None if np.isnan(v) else float(v) for v in row] for row in a]

    # --- mean ± std --------------------------------------------------------------------------------
    values = [0.8123, 0.7991, 0.8255]
    mean_std = {"values": values, "mean": float(np.mean(values)), "std_ddof1": float(np.std(values, ddof=1)),
                "std_ddof0": float(np.std(values, ddof=0))}

    # --- paired tests ------------------------------------------------------------------------------
    def wilcoxon_case(name, x, y):
        res = stats.wilcoxon(x, y)
        return {"name": name, "x": list(map(float, x)), "y": list(map(float, y)),
                "statistic": float(res.statistic), "pValue": float(res.pvalue)}

    wilcoxon = []
    x = rng.normal(size=10); y = x + rng.normal(0.5, 1, 10)
    wilcoxon.append(wilcoxon_case("n10-no-ties-exact", x, y))
    x = rng.normal(size=22); y = x + rng.normal(0.3, 1, 22)
    wilcoxon.append(wilcoxon_case("n22-no-ties-exact", x, y))
    x = np.round(rng.normal(size=12), 1); y = np.round(x + rng.normal(0.3, 0.6, 12), 1); y[3] = x[3]
    wilcoxon.append(wilcoxon_case("n12-ties-and-zero-permutation", x, y))
    x = np.round(rng.normal(size=30), 1); y = np.round(x + rng.normal(0.2, 0.5, 30), 1); y[[1, 7]] = x[[1, 7]]
    wilcoxon.append(wilcoxon_case("n30-ties-zeros-normal", x, y))
    x = rng.normal(size=64); y = x + rng.normal(0.1, 1, 64)
    wilcoxon.append(wilcoxon_case("n64-normal", x, y))
    acc_a = [0.812, 0.799, 0.826, 0.790, 0.805]; acc_b = [0.801, 0.802, 0.811, 0.781, 0.800]
    wilcoxon.append(wilcoxon_case("five-folds-exact", acc_a, acc_b))

    sign = []
    for name, (xs, ys) in {
        "five-folds": (acc_a, acc_b),
        "n30-with-zeros": (x[:30].tolist(), np.where(np.arange(30) % 7 == 0, x[:30], y[:30]).tolist()),
        "balanced": ([1, 2, 3, 4], [2, 1, 4, 3]),
    }.items():
        d = np.asarray(xs) - np.asarray(ys)
        kpos, nn = int((d > 0).sum()), int((d != 0).sum())
        sign.append({"name": name, "x": list(map(float, xs)), "y": list(map(float, ys)), "positive": kpos,
                     "n": nn, "pValue": stats.binomtest(kpos, nn, 0.5).pvalue})

    # --- balanced class weights --------------------------------------------------------------------
    y_weights = rng.choice(7, size=300, p=[0.3, 0.2, 0.15, 0.15, 0.1, 0.06, 0.04])
    class_weights = {"labels": y_weights.tolist(),
                     "balanced": compute_class_weight("balanced", classes=np.arange(7), y=y_weights).tolist()}

    out = {
        "generator": "Tests/Reference/metrics_reference.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__},
        "seed": SEED,
        "tolerance": {"metrics": 1e-12, "scalers": 1e-6, "pValue": 1e-9, "pValueNormal": 1e-9},
        "metrics": metrics,
        "scalers": {"train": nan_list(x_train), "test": nan_list(x_test), "cases": scalers},
        "meanStd": mean_std,
        "wilcoxon": wilcoxon,
        "sign": sign,
        "classWeights": class_weights,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1, default=none_if_nan)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
