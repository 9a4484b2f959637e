"""Overhead of the fastai training system: the same model on the same cached ksl13 batches, trained by the fastai
learner with the training callbacks active, and by a plain PyTorch loop. Prints JSON.

    python bench/train_overhead.py [--preset default] [--batches 20] [--rounds 5] [--bs 64]

Both train the same number of batches per epoch, in the same order, with AdamW and label-smoothed cross-entropy,
and validate on the same batch. The fastai side runs `TrainingLog`, `StageFreezing`, `LRSchedule`,
`AdaptiveDropoutSchedule`, `CSVLogger`, `Checkpoints` and `ManifestCallback` (so its time includes writing the
checkpoint, the history row and the manifest after every epoch). Rounds alternate the two, one epoch each; the
figures are medians of the epochs' wall times.
"""
import argparse, json, statistics, sys, tempfile, time, warnings
from pathlib import Path
import torch
import torch.nn.functional as F
sys.path[0] = str(Path(__file__).resolve().parents[1])  # the project, not bench/ (whose profile.py would shadow the standard library)
warnings.filterwarnings('ignore', message=r'`torch.jit.script` is deprecated', category=FutureWarning)
from fastai.data.load import DataLoader
from fastai.data.core import DataLoaders
from fastai.callback.progress import CSVLogger
from fastai.torch_core import set_seed
from slr_nb.core import real_data_dir
from slr_nb.data.store import build_store
from slr_nb.data.block import ClipDataLoaders
from slr_nb.data.augment import Augment
from slr_nb.models.isolated import make_model
from slr_nb.learner import sign_learner
from slr_nb.callbacks import *


class CachedDL(DataLoader):
    "A fastai DataLoader that yields batches held in memory (so both loops see the same batches, and no loading)."
    n_inp = 2
    def __init__(self, batches): super().__init__(list(range(len(batches))), bs=1); self.batches = batches
    def __iter__(self): yield from self.batches
    def __len__(self): return len(self.batches)


def main(preset='default', batches=20, rounds=5, bs=64):
    set_seed(0)
    store = build_store(real_data_dir()/'ksl13')
    dls = ClipDataLoaders.from_store(store, split_by='session', valid_values='MP_Data1,MP_Data3', augment=Augment(),
                                     max_len=128, length_mode='resample', bs=bs, num_workers=0)
    it = iter(dls.train); train_b = [next(it) for _ in range(batches)]
    valid_b = [dls.valid.one_batch()]
    fast_model, plain_model = make_model(preset, n_classes=dls.c), make_model(preset, n_classes=dls.c)
    plain_model.load_state_dict(fast_model.state_dict())
    tmp = Path(tempfile.mkdtemp())
    learn = sign_learner(DataLoaders(CachedDL(train_b), CachedDL(valid_b), device='cpu'), fast_model)
    learn.add_cbs([TrainingLog(), StageFreezing([Stage()]), LRSchedule(2e-3), AdaptiveDropoutSchedule(0.1, 0.3, 10),
                   CSVLogger(tmp/'history.csv'), Checkpoints(tmp/'checkpoints'), ManifestCallback(tmp/'manifest.json', {})])
    opt = torch.optim.AdamW(plain_model.parameters(), lr=2e-3, weight_decay=0.05)

    def plain_epoch():
        plain_model.train()
        for x, mask, y in train_b:
            loss = F.cross_entropy(plain_model(x, mask), y, label_smoothing=0.1)
            loss.backward(); opt.step(); opt.zero_grad()
        plain_model.eval()
        with torch.no_grad():
            for x, mask, y in valid_b: F.cross_entropy(plain_model(x, mask), y)

    fast_t, plain_t = [], []
    for r in range(rounds + 1):  # round 0 warms both up and is not counted
        t = time.perf_counter()
        with learn.no_bar(), learn.no_logging(): learn.fit(1)
        ft = time.perf_counter() - t
        t = time.perf_counter(); plain_epoch(); pt = time.perf_counter() - t
        if r: fast_t.append(ft); plain_t.append(pt)
    med = statistics.median
    clips = batches * bs
    return {'preset': preset, 'bs': bs, 'batches_per_epoch': batches, 'rounds': rounds, 'threads': torch.get_num_threads(),
            'fastai_clips_per_s': round(clips / med(fast_t), 1), 'plain_clips_per_s': round(clips / med(plain_t), 1),
            'ratio_fastai_over_plain': round(med(plain_t) / med(fast_t), 3),
            'fastai_epoch_s': [round(t, 3) for t in fast_t], 'plain_epoch_s': [round(t, 3) for t in plain_t]}


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--preset', default='default'); p.add_argument('--batches', type=int, default=20)
    p.add_argument('--rounds', type=int, default=5); p.add_argument('--bs', type=int, default=64)
    a = p.parse_args()
    print(json.dumps(main(a.preset, a.batches, a.rounds, a.bs), indent=1))
