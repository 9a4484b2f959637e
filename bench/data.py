"""Data-layer benchmark: store read rate, store build vs the usual pandas loop, re-read speedup, synthetic set time. Prints JSON.

    python bench/data.py [--repeats 5]

Each figure is the median of `repeats` runs, taken in one process, with the pandas loop and the store
alternating so that both see the same page cache and machine load.
"""
import argparse, json, os, platform, statistics, tempfile, time
from pathlib import Path
import numpy as np
import pandas as pd
from slr_nb.core import real_data_dir, N_LANDMARKS
from slr_nb.data.store import build_store
from slr_nb.data.synthetic import synthetic_clips


def timed(f):
    t = time.perf_counter(); f(); return time.perf_counter() - t


def read_all(store):
    "Every clip of the store as a float32 array of its own."
    for i in range(len(store)): store.clip(i)


def pandas_loop(files):
    "The usual notebook loop: read each parquet with pandas, keep x, y, z, reshape to frames."
    for f in files: pd.read_parquet(f)[['x', 'y', 'z']].to_numpy(np.float32).reshape(-1, N_LANDMARKS, 3)


def main(repeats=5):
    data = real_data_dir()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ['SLR_NB_CACHE'] = tmp
        stores = [build_store(data/'ksl13'), build_store(data/'cafe-asl')]
        n_clips = sum(len(s) for s in stores)
        read_times = [sum(timed(lambda: read_all(s)) for s in stores) for _ in range(repeats)]

        asl = data/'asl-signs'
        files = [asl/p for p in pd.read_csv(asl/'train.csv').path]
        kaggle = build_store(asl)
        pandas_t, build_t, reread_t = [], [], []
        for _ in range(repeats):
            pandas_t.append(timed(lambda: pandas_loop(files)))
            build_t.append(timed(lambda: build_store(asl, Path(tmp)/'asl-rebuild', force=True)))
            reread_t.append(timed(lambda: read_all(kaggle)))

    synthetic_t = [timed(synthetic_clips) for _ in range(repeats)]
    med = statistics.median
    return {
        'store_clips_per_s': round(n_clips / med(read_times)),
        'build_vs_pandas': round(med(build_t) / med(pandas_t), 3),
        'reread_speedup': round(med(pandas_t) / med(reread_t), 1),
        'synthetic_set_s': round(med(synthetic_t), 3),
        'detail': {
            'store_read_clips': n_clips, 'store_read_s': round(med(read_times), 4),
            'asl_signs_files': len(files), 'pandas_loop_s': round(med(pandas_t), 4),
            'store_build_s': round(med(build_t), 4), 'store_reread_s': round(med(reread_t), 5),
            'repeats': repeats, 'python': platform.python_version(), 'cpus': os.cpu_count(),
        },
        'targets': {'store_clips_per_s': '>= 20000', 'build_vs_pandas': '<= 1.0', 'reread_speedup': '>= 100', 'synthetic_set_s': '< 2'},
    }


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--repeats', type=int, default=5)
    print(json.dumps(main(p.parse_args().repeats), indent=1))
