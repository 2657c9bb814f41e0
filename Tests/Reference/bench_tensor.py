#!/usr/bin/env python3
"""Peer side of `emo bench tensor`: times torch.nn.functional.linear / conv1d on CPU at the shapes the Swift side
passes in (--cases JSON), with the same warm-up and repeat rule, and prints one JSON object on its last stdout
line. Without torch it prints {"missing": "why"} so the Swift side still reports its own column.

    python3 Tests/Reference/bench_tensor.py --cases '[{"name": "...", "kind": "linear", ...}]' --threads 2
"""
import argparse
import json
import statistics
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", required=True, help="JSON list of cases (see BenchTensor.swift)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-seconds", type=float, default=0.3)
    parser.add_argument("--min-repeats", type=int, default=5)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall: perf_counter; cpu: process_time (all threads of this process)")
    args = parser.parse_args()
    try:
        import torch
    except Exception as error:  # noqa: BLE001 - any import failure means no peer column
        print(json.dumps({"missing": f"torch not importable by {sys.executable}: {error}"}))
        return
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"bench_tensor.py: torch {torch.__version__}, python {sys.version.split()[0]}, "
          f"{torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()}", file=sys.stderr)

    clock = time.perf_counter if args.clock == "wall" else time.process_time

    def measure(fn):
        for _ in range(3):
            fn()
        times = []
        start = clock()
        while len(times) < args.min_repeats or clock() - start < args.min_seconds:
            t0 = clock()
            fn()
            times.append(clock() - t0)
        return {"best_s": min(times), "median_s": statistics.median(times), "repeats": len(times)}

    results = {}
    with torch.inference_mode():
        for case in json.loads(args.cases):
            if case["kind"] == "linear":
                x = torch.randn(case["rows"], case["in"])
                w = torch.randn(case["out"], case["in"]) * 0.02
                b = torch.randn(case["out"]) if case.get("bias", True) else None
                results[case["name"]] = measure(lambda: torch.nn.functional.linear(x, w, b))
            elif case["kind"] == "conv1d":
                x = torch.randn(case["batch"], case["cin"], case["tin"])
                w = torch.randn(case["cout"], case["cin"] // case["groups"], case["k"]) * 0.02
                b = torch.randn(case["cout"]) if case.get("bias", False) else None
                results[case["name"]] = measure(lambda: torch.nn.functional.conv1d(
                    x, w, b, stride=case["stride"], padding=case["padding"], groups=case["groups"]))
            elif case["kind"] == "gelu":
                x = torch.randn(case["count"])
                results[case["name"]] = measure(lambda: torch.nn.functional.gelu(x))
            elif case["kind"] == "attention":
                b, h, d, t = case["batch"], case["heads"], case["head_dim"], case["t"]
                # As Hugging Face feeds it: [B, T, H·D] projections viewed as [B, H, T, D].
                q, k, v = (torch.randn(b, t, h * d).view(b, t, h, d).transpose(1, 2) for _ in range(3))
                results[case["name"]] = measure(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v))
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "capability": torch.backends.cpu.get_cpu_capability(), "results": results}))


if __name__ == "__main__":
    main()
