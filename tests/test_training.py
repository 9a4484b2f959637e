"The training system on real ksl13 clips: stages, dropout schedules, exact resume, the manifest, checkpoints, two processes."
import json, os, shutil, socket, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
import torch
from fastai.callback.core import Callback
from slr_nb.callbacks import Stage, StageFreezing, read_checkpoint, save_training_state
from slr_nb.data.store import build_store
from slr_nb.data.block import ClipDataLoaders
from slr_nb.learner import sign_learner, train_recognizer, load_recognizer_file
from slr_nb.models.isolated import make_model

BIN = Path(sys.executable).parent
SPLIT = dict(split_by='session', valid_values='MP_Data1,MP_Data3')


def run(cmd, *args, env=None):
    r = subprocess.run([str(BIN/cmd), *map(str, args)], capture_output=True, text=True, timeout=900, env=env)
    return r.returncode, r.stdout, r.stderr


@pytest.fixture(scope='module')
def ksl13(data_dir): return build_store(data_dir/'ksl13')


def test_stage_change_keeps_state_of_what_stays_trainable(ksl13):
    "Stage 1 trains encoder + head, stage 2 everything: encoder and head carry their Adam state over, the frontend starts fresh."
    dls = ClipDataLoaders.from_store(ksl13, **SPLIT, max_len=64, length_mode='resample', bs=64, num_workers=0)
    learn = sign_learner(dls, make_model('default', n_classes=dls.c))
    class Snap(Callback):
        order = StageFreezing.order + 1   # right after the stage change
        def after_epoch(self):
            if self.epoch == 0: self.before = {p: {k: v.clone() for k, v in self.opt.state[p].items() if torch.is_tensor(v)} for p in self.model.parameters()}
        def before_epoch(self):
            if self.epoch == 1: self.entered = {p: {k: v.clone() if torch.is_tensor(v) else v for k, v in self.opt.state[p].items()} for p in self.model.parameters()}
    snap = Snap()
    learn.add_cbs([StageFreezing([Stage(epochs=1, train=('encoder', 'head')), Stage(train='all')]), snap])
    with learn.no_bar(), learn.no_logging(): learn.fit(2, 1e-3)
    kept = [p for g in ('encoder', 'head') for p in getattr(learn.model, g).parameters()]
    fresh = list(learn.model.frontend.parameters())
    n = len(dls.train)
    for p in kept:
        assert set(snap.before[p]) == {k for k, v in snap.entered[p].items() if torch.is_tensor(v)}
        for k, v in snap.before[p].items(): assert torch.equal(v, snap.entered[p][k])   # untouched by the stage change
        assert learn.opt.state[p]['step'] == 2 * n
    for p in fresh:
        assert snap.before[p] == {} and snap.entered[p] == {}     # frozen in stage 1: no state, none invented
        assert learn.opt.state[p]['step'] == n                    # trained in stage 2 only
    assert [s['epoch'] for s in learn.stage_log] == [0, 1]


def test_dropout_schedule_reaches_its_values(data_dir, tmp_path):
    m = train_recognizer(data_dir/'ksl13', tmp_path/'run', **SPLIT, epochs=4, progress=False, workers=0, max_len=64, calibration=False,
                         adaptive_dropout=0.1, dropout=dict(initial_p=0.1, final_p=0.6, warmup_epochs=2), late_dropout_epoch=1)
    ps = [r['dropout_p'] for r in m['training_history']]
    np.testing.assert_allclose(ps, [0.1, 0.35, 0.6, 0.6])
    model, _ = load_recognizer_file(tmp_path/'run'/'model.pth')
    n = m['data']['train_clips'] // 64                            # batches per epoch (drop_last)
    assert int(model.head[0].step) == 4 * n                       # LateDropout counted every training batch
    assert m['training_config']['train']['late_dropout_epoch'] == 1


def test_exact_resume_from_the_command_line(data_dir, tmp_path):
    "4 epochs in one run equal 2 epochs, stopped, plus `slr-train --resume DIR` to 4: weights and history within 1e-6."
    args = ['--data', data_dir/'ksl13', '--split-by', 'session', '--valid-values', 'MP_Data1,MP_Data3', '--epochs', 4,
            '--workers', 0, '--set', 'train.max_len=64', '--set', 'train.calibration=false']  # one run, no search (its resume: the learner's lessons)
    code, _, err = run('slr-train', *args, '--out', tmp_path/'full'); assert code == 0, err[-2000:]
    code, _, err = run('slr-train', *args, '--out', tmp_path/'part', '--stop-after', 2); assert code == 0, err[-2000:]
    part = json.loads((tmp_path/'part'/'manifest.json').read_text())
    assert part['status'] == 'stopped' and part['epochs_done'] == 2
    code, out, err = run('slr-train', '--resume', tmp_path/'part'); assert code == 0, err[-2000:]
    a, b = load_recognizer_file(tmp_path/'full'/'model.pth')[0], load_recognizer_file(tmp_path/'part'/'model.pth')[0]
    for (n, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.allclose(p.float(), q.float(), atol=1e-6), n
    ha, hb = (json.loads((tmp_path/d/'manifest.json').read_text())['training_history'] for d in ('full', 'part'))
    assert len(ha) == len(hb) == 4
    for ra, rb in zip(ha, hb):
        for k in ra:
            if k not in ('epoch_s', 'peak_mem_mb'): assert ra[k] == pytest.approx(rb[k], abs=1e-6, nan_ok=True), k
    rows = (tmp_path/'part'/'history.csv').read_text().strip().splitlines()
    assert len(rows) == 5 and rows[1:3] == (tmp_path/'part'/'history.csv').read_text().strip().splitlines()[1:3]
    code, _, err = run('slr-train', '--resume', tmp_path/'part', '--epochs', 6, '--set', 'model.dim=64')
    assert code == 1 and 'model.dim: (absent) -> 64' in err and 'Traceback' not in err
    code, _, err = run('slr-train', '--resume', tmp_path/'part')
    assert code == 1 and '4 epochs are done already' in err


def test_manifest_sections(data_dir, tmp_path):
    m = train_recognizer(data_dir/'ksl13', tmp_path/'run', 'multitask-transformer', **SPLIT, epochs=2, progress=False, workers=0,
                         max_len=32, layers=1, early_stopping=None)
    disk = json.loads((tmp_path/'run'/'manifest.json').read_text())
    assert {'model_info', 'training_config', 'architecture_details', 'training_history', 'final_results', 'hardware', 'data', 'stages'} <= set(disk)
    assert disk['model_info']['name'] == 'keypoint_transformer' and disk['model_info']['size_mb'] > 0
    assert disk['training_config']['preset'] == 'multitask-transformer' and disk['training_config']['train']['loss_alpha'] == 0.5
    assert disk['architecture_details']['loss'].startswith('MultiTaskLoss(0.5 * CE(gloss) + 0.5 * CE(category)')
    assert disk['data']['fingerprint'] and disk['data']['split_by'] == 'session'
    assert {'torch', 'fastai', 'slr_nb', 'cpu', 'torch_threads'} <= set(disk['hardware'])
    row = disk['training_history'][0]
    assert {'train_loss', 'valid_loss', 'loss/gloss', 'loss/category', 'gloss_accuracy', 'category_accuracy', 'lr', 'epoch_s',
            'peak_mem_mb', 'stage', 'dropout_p'} <= set(row)
    assert disk['final_results']['valid_category_accuracy'] is not None and disk['status'] == 'finished'


def test_half_written_checkpoint_never_replaces_a_good_one(ksl13, tmp_path, monkeypatch):
    dls = ClipDataLoaders.from_store(ksl13, **SPLIT, max_len=32, length_mode='resample', bs=64, num_workers=0)
    learn = sign_learner(dls, make_model('default', n_classes=dls.c))
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    good = save_training_state(learn, tmp_path/'last.pth', {'train': {'lr': 1e-3}})
    before = good.read_bytes()
    def crash(obj, f, *a, **k):
        Path(f).write_bytes(b'half a checkpoint'); raise KeyboardInterrupt
    monkeypatch.setattr(torch, 'save', crash)
    with pytest.raises(KeyboardInterrupt): save_training_state(learn, tmp_path/'last.pth', {'train': {'lr': 1e-3}})
    assert good.read_bytes() == before and read_checkpoint(good)['epochs_done'] == 1


def test_two_processes_with_accelerate(data_dir, tmp_path):
    "`accelerate launch` with 2 CPU processes (gloo): disjoint shards, files written once, accuracy within 2 points of one process."
    env = dict(os.environ, OMP_NUM_THREADS='1')
    with socket.socket() as sock: sock.bind(('127.0.0.1', 0)); port = sock.getsockname()[1]  # never a port another run holds
    launch = [BIN/'accelerate', 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1', '--mixed_precision', 'no', '--dynamo_backend', 'no',
              '--main_process_port', str(port)]
    r = subprocess.run([*map(str, launch), str(Path(__file__).parent/'distributed_probe.py'), str(data_dir/'ksl13')],
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    ranks = json.loads(r.stdout.strip().splitlines()[-1])
    a, b = (set(x['idxs']) for x in ranks)
    assert len(ranks) == 2 and not a & b and len(a | b) == ranks[0]['train_clips']
    common = ['--data', data_dir/'ksl13', '--split-by', 'session', '--valid-values', 'MP_Data1,MP_Data3', '--epochs', 8, '--workers', 0]
    r = subprocess.run([*map(str, launch), str(BIN/'slr-train'), *map(str, common), '--bs', '32', '--out', str(tmp_path/'two')],
                       capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count('valid accuracy') == 1                       # reported once
    two = json.loads((tmp_path/'two'/'manifest.json').read_text())
    assert two['hardware']['processes'] == 2 and len((tmp_path/'two'/'history.csv').read_text().strip().splitlines()) == 9
    code, _, err = run('slr-train', *common, '--out', tmp_path/'one'); assert code == 0, err[-2000:]
    one = json.loads((tmp_path/'one'/'manifest.json').read_text())
    assert abs(two['final_results']['valid_accuracy'] - one['final_results']['valid_accuracy']) <= 0.02
