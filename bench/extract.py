"""Extraction speed on the real test video (shared/data/pose/python__tests__data__test_video.mp4). Prints JSON.

    python bench/extract.py [--copies 8] [--rounds 3] [--workers 2]

- `ratio`: frames per second of `extract_folder` (what `slr-extract` runs: decoding, MediaPipe Holistic, the
  parquet files, the state and index files) over those of a bare MediaPipe Holistic loop (OpenCV decoding + one
  `Holistic` per video), on the same copies of the video, one process each; medians of `--rounds` alternating runs.
- `speedup`: `extract_folder` with `--workers` processes against one, over the same copies (pool start-up included).
- `cli_seconds`: the whole `slr-extract` command once, Python start-up included.
- `person_frames`: the share of frames with a pose detected.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the project, not bench/ (the workers import it too)
from slr_nb.core import real_data_dir
from slr_nb.extract import extract_folder, ExtractOptions


def bare_loop(videos)->tuple:
    "Frames and seconds of the plain loop: decode with OpenCV, convert to RGB, run a new Holistic per video."
    import cv2, mediapipe as mp
    n, t0 = 0, time.perf_counter()
    for v in videos:
        with mp.solutions.holistic.Holistic(static_image_mode=False, model_complexity=1) as h:
            cap = cv2.VideoCapture(str(v))
            while True:
                ok, frame = cap.read()
                if not ok: break
                h.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)); n += 1
            cap.release()
    return n, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--copies', type=int, default=8); ap.add_argument('--rounds', type=int, default=3); ap.add_argument('--workers', type=int, default=2)
    a = ap.parse_args()
    video = real_data_dir()/'pose'/'python__tests__data__test_video.mp4'
    tmp = Path(tempfile.mkdtemp(prefix='slr_extract_bench_'))
    try:
        src = tmp/'videos'; src.mkdir()
        for i in range(a.copies): shutil.copy(video, src/f'copy{i:02d}.mp4')
        videos = sorted(src.iterdir())
        bare, ours, runs = [], [], []
        for k in range(a.rounds):  # alternate, so load changes on a shared machine hit both alike
            n, s = bare_loop(videos); bare.append(n / s)
            r = extract_folder([src], tmp/f'out1-{k}', ExtractOptions(), workers=1, progress=False); ours.append(r['frames'] / r['seconds']); runs.append(r)
        par = [extract_folder([src], tmp/f'outN-{k}', ExtractOptions(), workers=a.workers, progress=False) for k in range(max(1, a.rounds // 2))]
        t0 = time.perf_counter()
        cli = subprocess.run([str(Path(sys.executable).parent/'slr-extract'), str(src), '--out', str(tmp/'cli'), '--workers', '1', '--quiet', '--json'], capture_output=True, text=True)
        cli_s = time.perf_counter() - t0
        one_s = float(np.median([r['seconds'] for r in runs])); par_s = float(np.median([r['seconds'] for r in par]))
        out = dict(video=str(video), copies=a.copies, frames=runs[0]['frames'], rounds=a.rounds,
                   bare_fps_median=round(float(np.median(bare)), 2), extract_fps_median=round(float(np.median(ours)), 2),
                   ratio=round(float(np.median(ours) / np.median(bare)), 3), bare_fps=[round(x, 2) for x in bare], extract_fps=[round(x, 2) for x in ours],
                   workers=a.workers, one_worker_seconds=round(one_s, 2), workers_seconds=round(par_s, 2), speedup=round(one_s / par_s, 3),
                   cli_seconds=round(cli_s, 2), cli_ok=cli.returncode == 0, person_frames=round(runs[0]['pose_frames'] / runs[0]['frames'], 4),
                   cpus=len(os.sched_getaffinity(0)), load_average=os.getloadavg())
        print(json.dumps(out, indent=1))
    finally: shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__': main()
