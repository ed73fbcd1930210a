#!/usr/bin/env python3
"""Single-precision matmul rate of numpy's BLAS on given shapes (the ceiling for our stack).

    python3 sgemm.py '[{"label": "...", "batch": 1, "m": 1024, "k": 1024, "n": 1024, "transB": false}]' [reps]
Prints one JSON object: numpy version, its BLAS, and GFLOP/s samples per shape.
"""
import json
import sys
import time

import numpy as np


def blas_name() -> str:
    try:
        cfg = np.show_config(mode="dicts")  # numpy >= 1.26
        b = cfg["Build Dependencies"]["blas"]
        return f'{b.get("name")} {b.get("version")}'
    except Exception:
        pass
    try:
        import numpy.distutils.system_info as si  # older numpy
        info = si.get_info("blas_opt") or si.get_info("openblas")
        return ",".join(info.get("libraries", [])) or "unknown"
    except Exception:
        return "unknown"


def main() -> None:
    shapes = json.loads(sys.argv[1])
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    out = {"numpy": np.__version__, "python": sys.executable, "blas": blas_name(), "shapes": []}
    rng = np.random.default_rng(0)
    for s in shapes:
        bt, m, k, n = s["batch"], s["m"], s["k"], s["n"]
        a = rng.standard_normal((bt, m, k) if bt > 1 else (m, k), dtype=np.float32)
        bshape = (n, k) if s["transB"] else (k, n)
        b = rng.standard_normal((bt, *bshape) if bt > 1 else bshape, dtype=np.float32)
        bb = np.swapaxes(b, -1, -2) if s["transB"] else b
        c = np.matmul(a, bb)  # warm-up; later calls write into c (no fresh pages)
        flop = 2 * bt * m * n * k
        calls = max(1, min(50, round(4e8 / flop)))
        gf = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(calls):
                np.matmul(a, bb, out=c)
            gf.append(calls * flop / (time.perf_counter() - t0) / 1e9)
        out["shapes"].append({"label": s["label"], "gflops": gf})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
