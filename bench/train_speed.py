"""Training throughput of a preset on this machine (clips per second), on real ksl13 clips. Prints JSON.

    python bench/train_speed.py [--preset default] [--batches 30] [--bs 64] [--workers auto]

Three measurements, each a median of per-batch wall-clock times after a warm-up:
- `model_step`: forward, backward and AdamW on batches drawn from the loader beforehand and cached (no loading
  at all; the same seeded batches the loop meets), timed before and after the loop so that drift in the
  machine's speed hits both sides alike;
- `loading`: iterating the training DataLoader alone (store read, augmentation, padding, transfer);
- `train` (the whole step): a real training loop, every batch drawn from the DataLoader with the chosen
  workers and trained on; the time of a batch runs from the end of one step to the end of the next, so
  waiting for the loader counts. `train_mean_clips_per_s` is the mean over the same batches, epoch starts
  (new workers, first batches) included.
`train_over_model_step` is the ratio the loading has to keep near 1. CPU here; on a CUDA machine the model
runs on the GPU (fastai's default device) under bf16 autocast where supported, timed with synchronisation.
"""
import argparse, json, os, statistics, sys, time, warnings
from contextlib import nullcontext
from pathlib import Path
import torch
sys.path[0] = str(Path(__file__).resolve().parents[1])  # the project, not bench/ (whose profile.py would shadow the standard library)
warnings.filterwarnings('ignore', message=r'`torch.jit.script` is deprecated', category=FutureWarning)
from fastai.torch_core import set_seed
from slr_nb.core import real_data_dir
from slr_nb.data.store import build_store
from slr_nb.data.block import ClipDataLoaders, default_workers
from slr_nb.data.augment import Augment
from slr_nb.models.isolated import make_model
from slr_nb.learner import sign_learner

WARMUP = 3


def _cpus(): return len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()


def main(preset='default', batches=30, bs=64, workers=None, seed=0):
    store = build_store(real_data_dir()/'ksl13')
    nw = default_workers() if workers is None else workers
    dls = ClipDataLoaders.from_store(store, split_by='session', valid_values='MP_Data1,MP_Data3', augment=Augment(),
                                     max_len=128, length_mode='resample', bs=bs, num_workers=nw)
    learn = sign_learner(dls, make_model(preset, n_classes=dls.c))
    learn.create_opt(); learn.model.train()
    dev = next(learn.model.parameters()).device
    cuda = dev.type == 'cuda'
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    autocast = (lambda: torch.autocast('cuda', dtype=torch.bfloat16)) if cuda and torch.cuda.is_bf16_supported() else nullcontext

    def step(b):
        x, mask, y = b
        with autocast(): loss = learn.loss_func(learn.model(x, mask), y)
        loss.backward(); learn.opt.step(); learn.opt.zero_grad()

    set_seed(seed)  # the same batches (and so the same frames per clip) every run

    def batches_forever():
        while True: yield from dls.train

    def timed(batch_iter, n, fn):
        "Wall-clock seconds per batch, each from the end of the previous one (so waiting for a batch counts)."
        ts, t = [], time.perf_counter()
        for _ in range(n):
            fn(next(batch_iter)); sync()
            now = time.perf_counter(); ts.append(now - t); t = now
        return ts[WARMUP:]

    # the model step alone runs on the very batches (same lengths) that the loop below will meet with 0 workers
    with dls.train.fake_l.no_multiproc(): cached = [b for b, _ in zip(batches_forever(), range(WARMUP + batches))]
    frames = [int(b[0].shape[1]) for b in cached[WARMUP:]]
    step_t = timed(iter(cached), len(cached), step)
    set_seed(seed); load_t = timed(batches_forever(), WARMUP + batches, lambda b: None)  # loading alone, chosen workers
    set_seed(seed); train_t, seen = [], []                                               # the whole step: a real loop
    train_t = timed(batches_forever(), WARMUP + batches, lambda b: (seen.append(int(b[0].shape[1])), step(b)))
    step_t += timed(iter(cached), len(cached), step)  # again after the loop: drift in machine speed hits both sides
    med = statistics.median
    r = lambda v: round(v, 1)
    return {'preset': preset, 'bs': bs, 'frames_per_clip': med(frames), 'frames_per_clip_in_loop': med(seen[WARMUP:]), 'device': str(dev),
            'cpus': _cpus(), 'threads': torch.get_num_threads(), 'workers': nw, 'batches': batches,
            'train_clips_per_s': r(bs / med(train_t)), 'train_mean_clips_per_s': r(bs / statistics.mean(train_t)),
            'loading_clips_per_s': r(bs / med(load_t)), 'model_step_clips_per_s': r(bs / med(step_t)),
            'train_over_model_step': round(med(step_t) / med(train_t), 3),
            'params': sum(p.numel() for p in learn.model.parameters())}


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--preset', default='default'); p.add_argument('--batches', type=int, default=30); p.add_argument('--bs', type=int, default=64)
    p.add_argument('--workers', default='auto', help="DataLoader worker processes: 'auto' (default_workers()) or a number; 0 loads in-process")
    a = p.parse_args()
    print(json.dumps(main(a.preset, a.batches, a.bs, None if a.workers == 'auto' else int(a.workers)), indent=1))
