"""Where the time of a training step goes, per batch size, and CPU bf16 autocast against float32. Prints JSON.

    python bench/profile.py [--preset default] [--batch-sizes 16,32,64,128] [--steps 10] [--accuracy-epochs 5]

For each precision and batch size (each in a fresh process, so that its peak memory is its own): the median
forward, backward and optimizer-step times over `--steps` steps on real ksl13 batches (after 2 warm-up steps),
the throughput of the three together, and the process's peak resident memory (peak CUDA memory on a GPU).
Then a short training run of the default recipe in float32 and in bf16 (`CPUAutocast`; fastai's `MixedPrecision`
on CUDA), both with the same seed, and their accuracy on the held-out ksl13 sessions.
"""
import argparse, json, os, resource, statistics, subprocess, sys, tempfile, time, warnings
from pathlib import Path
import torch
sys.path[0] = str(Path(__file__).resolve().parents[1])  # the project, not bench/ (whose profile.py would shadow the standard library)
warnings.filterwarnings('ignore', message=r'`torch.jit.script` is deprecated', category=FutureWarning)
from slr_nb.core import real_data_dir

SPLIT = dict(split_by='session', valid_values='MP_Data1,MP_Data3')


def one(preset, bs, steps, precision):
    "Time forward, backward and step at one batch size (run in its own process)."
    from fastai.torch_core import set_seed, default_device
    from slr_nb.data.store import build_store
    from slr_nb.data.block import ClipDataLoaders
    from slr_nb.data.augment import Augment
    from slr_nb.models.isolated import make_model
    from slr_nb.learner import sign_learner
    set_seed(0)
    dls = ClipDataLoaders.from_store(build_store(real_data_dir()/'ksl13'), **SPLIT, augment=Augment(), max_len=128,
                                     length_mode='resample', bs=bs, num_workers=0)
    learn = sign_learner(dls, make_model(preset, n_classes=dls.c)); learn.create_opt(); learn.model.train()
    cuda = torch.device(dls.device or 'cpu').type == 'cuda'
    ctx = (lambda: torch.autocast('cuda' if cuda else 'cpu', dtype=torch.bfloat16)) if precision == 'bf16' else (lambda: torch.autocast('cpu', enabled=False))
    it = iter(dls.train); batches = [next(it) for _ in range(3)]
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    fw, bw, st = [], [], []
    for i in range(steps + 2):
        x, mask, y = batches[i % 3]
        sync(); t0 = time.perf_counter()
        with ctx(): loss = learn.loss_func(learn.model(x, mask).float(), y)
        sync(); t1 = time.perf_counter(); loss.backward()
        sync(); t2 = time.perf_counter(); learn.opt.step(); learn.opt.zero_grad()
        sync(); t3 = time.perf_counter()
        if i >= 2: fw.append(t1 - t0); bw.append(t2 - t1); st.append(t3 - t2)
    med = statistics.median
    step = med(fw) + med(bw) + med(st)
    mem = torch.cuda.max_memory_allocated() / 2**20 if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {'bs': bs, 'precision': precision, 'frames': int(batches[0][0].shape[1]), 'forward_ms': round(1000 * med(fw), 2),
            'backward_ms': round(1000 * med(bw), 2), 'step_ms': round(1000 * med(st), 2), 'clips_per_s': round(bs / step, 1),
            'peak_mem_mb': round(mem, 1), 'memory': 'cuda allocated' if cuda else 'process peak RSS'}


def short_run(preset, precision, epochs):
    from slr_nb.learner import train_recognizer
    with tempfile.TemporaryDirectory() as d:
        t = time.time()
        m = train_recognizer(real_data_dir()/'ksl13', Path(d)/'run', preset, **SPLIT, epochs=epochs, precision=precision,
                             progress=False, workers=0)
        return {'precision': m['hardware']['speed']['precision'], 'epochs': epochs, 'valid_accuracy': round(m['final_results']['valid_accuracy'], 4),
                'train_seconds': round(time.time() - t, 1)}


def main(preset='default', batch_sizes=(16, 32, 64, 128), steps=10, accuracy_epochs=5):
    rows = []
    for precision in ('fp32', 'bf16'):
        for bs in batch_sizes:
            r = subprocess.run([sys.executable, __file__, '--one', str(bs), '--precision', precision, '--preset', preset, '--steps', str(steps)],
                               capture_output=True, text=True)
            if r.returncode: raise RuntimeError(r.stderr[-2000:])
            rows.append(json.loads(r.stdout))
    speed = {bs: {r['precision']: r['clips_per_s'] for r in rows if r['bs'] == bs} for bs in batch_sizes}
    runs = [short_run(preset, p, accuracy_epochs) for p in ('fp32', 'bf16')] if accuracy_epochs else []
    return {'preset': preset, 'threads': torch.get_num_threads(), 'device': 'cuda' if torch.cuda.is_available() else 'cpu',
            'per_batch_size': rows, 'bf16_speedup': {str(bs): round(v['bf16'] / v['fp32'], 3) for bs, v in speed.items()},
            'short_runs': runs}


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--preset', default='default'); p.add_argument('--batch-sizes', default='16,32,64,128')
    p.add_argument('--steps', type=int, default=10); p.add_argument('--accuracy-epochs', type=int, default=5)
    p.add_argument('--one', type=int, default=None, help=argparse.SUPPRESS); p.add_argument('--precision', default='fp32', help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one: print(json.dumps(one(a.preset, a.one, a.steps, a.precision)))
    else: print(json.dumps(main(a.preset, [int(b) for b in a.batch_sizes.split(',')], a.steps, a.accuracy_epochs), indent=1))
