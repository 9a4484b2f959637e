"""Training throughput of a preset on this machine (clips per second), on real ksl13 clips. Prints JSON.

    python bench/train_speed.py [--preset default] [--batches 30] [--bs 64]

Reports the whole training step (loading, augmentation, forward, backward, AdamW) and, apart, the data
loading alone and the model step alone, so the bottleneck is visible. CPU only here: on a CUDA machine the
same script runs the model on the GPU (fastai's default device) with bf16 autocast where supported.
"""
import argparse, json, os, statistics, sys, time, warnings
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings('ignore', message=r'`torch.jit.script` is deprecated', category=FutureWarning)
from slr_nb.core import real_data_dir
from slr_nb.data.store import build_store
from slr_nb.data.block import ClipDataLoaders
from slr_nb.data.augment import Augment
from slr_nb.models.isolated import make_model
from slr_nb.learner import sign_learner


def main(preset='default', batches=30, bs=64):
    store = build_store(real_data_dir()/'ksl13')
    dls = ClipDataLoaders.from_store(store, split_by='session', valid_values='MP_Data1,MP_Data3', augment=Augment(),
                                     max_len=128, length_mode='resample', bs=bs)
    learn = sign_learner(dls, make_model(preset, n_classes=dls.c))
    learn.create_opt(); learn.model.train()
    it = iter(dls.train)
    cached = [next(it) for _ in range(3)]
    load_t, step_t = [], []
    for i in range(batches):
        t = time.perf_counter()
        try: b = next(it)
        except StopIteration: it = iter(dls.train); b = next(it)
        load_t.append(time.perf_counter() - t)
        x, mask, y = cached[i % 3]
        t = time.perf_counter()
        loss = learn.loss_func(learn.model(x, mask), y)
        loss.backward(); learn.opt.step(); learn.opt.zero_grad()
        step_t.append(time.perf_counter() - t)
    med = statistics.median
    return {'preset': preset, 'bs': bs, 'frames_per_clip': int(x.shape[1]), 'device': str(x.device),
            'threads': torch.get_num_threads(),
            'train_clips_per_s': round(bs / (med(load_t) + med(step_t)), 1),
            'loading_clips_per_s': round(bs / med(load_t), 1), 'model_step_clips_per_s': round(bs / med(step_t), 1),
            'params': sum(p.numel() for p in learn.model.parameters())}


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--preset', default='default'); p.add_argument('--batches', type=int, default=30); p.add_argument('--bs', type=int, default=64)
    a = p.parse_args()
    print(json.dumps(main(a.preset, a.batches, a.bs), indent=1))
