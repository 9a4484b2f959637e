"Continuous recognition end to end: the three stages of whisper-sign switching, and sentences of real clips that a model can align."
import json, subprocess, sys, warnings
from pathlib import Path
import numpy as np, pytest, torch
from fastai.callback.core import Callback
from slr_nb.data.store import build_store
from slr_nb.data.block import ClipDataLoaders
from slr_nb.data.sentences import build_sentences
from slr_nb.data.synthetic import write_synthetic_npz
from slr_nb.callbacks import StageFreezing, LRSchedule, group_names, stage_bounds, as_stage
from slr_nb.learner import sign_learner, load_run_config, train_recognizer
from slr_nb.losses import ctc_min_frames
from slr_nb.models.isolated import make_model
from slr_nb.models.continuous import output_lengths
from slr_nb.inference import Recognizer, evaluate_continuous, StreamRecognizer


@pytest.fixture(scope='module')
def synthetic_sentences(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('cont')
    src = write_synthetic_npz(tmp/'syn', n_signers=3, clips_per_sign=3)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        build_sentences(src, tmp/'sent', n=64, n_valid=8, split_by='signer', valid_values='synthetic-signer2', max_glosses=3)
    return tmp/'sent'


class Probe(Callback):
    "Per epoch: the groups that train, the loss's alpha, the largest learning rate used."
    order = 50
    def before_fit(self): self.rows = []
    def before_epoch(self): self.lrs = []
    def after_batch(self):
        if self.training: self.lrs.append(self.opt.hypers[-1]['lr'])
    def after_epoch(self):
        names, groups = group_names(self.model), self.learn.opt.param_lists
        trains = sorted(n for n, g in zip(names, groups) if g and all(p.requires_grad for p in g))
        self.rows.append(dict(train=trains, alpha=self.loss_func.alpha, lr=max(self.lrs), segment=self.dls.train.dataset.segment))


def test_whisper_sign_three_stages(synthetic_sentences):
    cfg = load_run_config('whisper-sign', ['model.dim=32', 'model.encoder_layers=1', 'model.decoder_layers=1'])
    t = cfg['train']
    store = build_store(synthetic_sentences)
    dls = ClipDataLoaders.from_store(store, split_by='group', valid_values='val', target='glosses', bs=8, num_workers=0)
    model = make_model('hybrid-ctc', n_classes=dls.c, dim=32, encoder_layers=1, decoder_layers=1)
    probe = Probe()
    learn = sign_learner(dls, model, cbs=[StageFreezing(t['stages']), LRSchedule(t['lr'], t['schedule'], t['warmup_pct']), probe])
    learn.loss_func.alpha = t['loss_alpha']
    with warnings.catch_warnings(), learn.no_bar(), learn.no_logging():
        warnings.simplefilter('ignore')
        learn.fit(5, t['lr'])
    starts = [s for s, n in stage_bounds([as_stage(x) for x in t['stages']], 5)]
    assert starts == [0, 3, 4]  # 60%, 25% and the rest of 5 epochs
    r = [probe.rows[i] for i in starts]
    assert r[0]['train'] == ['encoder', 'frontend', 'head'] and r[0]['alpha'] == 1.0 and 5e-4 < r[0]['lr'] <= 1e-3
    assert r[1]['train'] == ['decoder', 'encoder', 'frontend', 'head'] and r[1]['alpha'] == 0.3 and r[1]['lr'] <= 5e-5
    assert r[2]['train'] == r[1]['train'] and r[2]['lr'] <= 1e-5 and [x['segment'] for x in r] == [None, None, 96]
    assert [s['name'] for s in learn.stage_log] == ['frontend + CTC', 'all + attention', 'segments']


def test_train_evaluate_stream(synthetic_sentences, tmp_path):
    "slr-train's path for a continuous preset: model file with the vocabulary, WER in the manifest, decoding and streaming on it."
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        m = train_recognizer(synthetic_sentences, tmp_path/'run', 'ctc-baseline', epochs=2, bs=8, progress=False, workers=0,
                             overrides=['model.dim=32', 'model.hands_dim=16', 'model.pose_dim=8', 'model.face_dim=8', 'model.conv_blocks=1'])
    assert m['architecture_details']['metrics'] == ['wer'] and 'valid_wer' in m['final_results']
    assert m['data']['unalignable_train_clips'] == 0 and m['data']['missing_glosses'] == []
    rec = Recognizer.load(tmp_path/'run'/'model.pth')
    assert rec.continuous and rec.classes[0] == '<blank>' and rec.language_model() is not None
    store = build_store(synthetic_sentences); val = np.flatnonzero(store.items.group == 'val')
    r = evaluate_continuous(rec, store, val, decoders=('greedy', 'beam'))
    assert r['clips'] == len(val) and 0 <= r['greedy']['wer'] and 0 <= r['beam']['wer']
    x = store.clip(val[0])
    assert StreamRecognizer(rec, window=len(x) + 40, hop=4, settle=len(x) + 4).run(x) == rec.transcribe(x)
    # the command line: WER of both decoders, and the gloss sequence of a file
    ev = _cli('slr-evaluate', str(tmp_path/'run'/'model.pth'), '--data', str(synthetic_sentences), '--split-by', 'group', '--valid-values', 'val', '--json')
    r2 = json.loads(ev.stdout)
    assert r2['clips'] == len(val) and abs(r2['greedy']['wer'] - r['greedy']['wer']) < 1e-9
    f = store.items.source.iloc[val[0]]
    pr = _cli('slr-predict', str(tmp_path/'run'/'model.pth'), f, '--decoder', 'greedy', '--json')
    assert json.loads(pr.stdout)[f]['glosses'] == rec.transcribe(f)


def test_continuous_commands(synthetic_sentences, tmp_path):
    "slr-train with a continuous preset as a user types it (its length searched on training sentences), then slr-evaluate on the split folder."
    tiny = [a for kv in ('model.dim=32', 'model.hands_dim=16', 'model.pose_dim=8', 'model.face_dim=8', 'model.conv_blocks=1', 'train.bs=8',
                         'train.workers=0', 'train.max_epochs=3') for a in ('--set', kv)]
    tr = _cli('slr-train', 'ctc-baseline', '--data', str(synthetic_sentences), '--out', str(tmp_path/'run'), *tiny)
    last = tr.stdout.strip().splitlines()[-1]
    assert last.startswith('valid WER ') and 'held-out clips' in last and str(tmp_path/'run'/'model.pth') in last, last
    m = json.loads((tmp_path/'run'/'manifest.json').read_text())
    s = m['search']
    assert s['monitor'] == 'wer' and s['epochs_done'] <= 3 and m['final_results']['epochs_done'] == s['best_epoch']
    assert s['trained_clips'] + s['monitor_clips'] == m['data']['train_clips']  # the search watched training sentences only
    store = build_store(synthetic_sentences); val = np.flatnonzero(store.items.group == 'val')
    ev = _cli('slr-evaluate', str(tmp_path/'run'/'model.pth'), '--data', str(synthetic_sentences))
    assert f"on {len(val)} clips (split 'val')" in ev.stdout, ev.stdout
    tr_ev = _cli('slr-evaluate', str(tmp_path/'run'/'model.pth'), '--data', str(synthetic_sentences), '--split', 'train', '--json')
    assert json.loads(tr_ev.stdout)['clips'] == len(store) - len(val)
    bad = subprocess.run([str(Path(sys.executable).with_name('slr-evaluate')), str(tmp_path/'run'/'model.pth'), '--data', str(synthetic_sentences), '--split', 'nope'],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "--split nope" in bad.stderr and 'Traceback' not in bad.stderr


def _cli(name, *args):
    exe = Path(sys.executable).with_name(name)
    p = subprocess.run([str(exe), *args], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-2000:]
    return p


def test_real_sentences_are_alignable(data_dir, tmp_path):
    "Every ksl13 sentence has frames enough for its glosses after either model (no clip silently dropped from CTC)."
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        build_sentences(data_dir/'ksl13', tmp_path/'s', n=60, n_valid=20, split_by='session', valid_values='MP_Data1,MP_Data3')
    store = build_store(tmp_path/'s')
    targets = [torch.tensor(range(1, len(g) + 1)) for g in store.items.glosses]
    need = ctc_min_frames(torch.nn.utils.rnn.pad_sequence(targets, batch_first=True), torch.tensor([len(t) for t in targets]))
    for arch in ('ctc', 'hybrid-ctc'):
        assert (output_lengths(make_model(arch), torch.as_tensor(store.lengths)) >= need).all()


def test_segments_are_whole_glosses(data_dir, tmp_path):
    "Training on segments of real sentences: each is a run of whole glosses, its frames exactly those of the sentence."
    from slr_nb.data.block import ClipDataset
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        build_sentences(data_dir/'ksl13', tmp_path/'s', n=20, split_by=None, min_glosses=4, max_glosses=6)
    store = build_store(tmp_path/'s')
    ds = ClipDataset(store, target='glosses', train=True, segment=70)
    torch.manual_seed(0)
    for i in range(len(ds)):
        x, y = ds[i]
        full, spans, ids = store.clip(i), store.items.spans.iloc[i], ds.targets[i].tolist()
        a = next(k for k in range(len(ids)) if ids[k:k + len(y)] == y.tolist() and spans[k][0] + len(x) - 1 == spans[k + len(y) - 1][1])
        assert len(x) <= 70 or len(y) == 1
        np.testing.assert_array_equal(x.numpy(), full[spans[a][0]:spans[a][0] + len(x)])


def test_separate_folders_matched_by_name(tmp_path):
    "--data A --valid-data B: label maps with different ids are matched by gloss name; a gloss training lacks is reported, its clips left out."
    from slr_nb.data.synthetic import synthetic_clips
    from slr_nb.data.sentences import make_sentences, write_sentences
    clips = synthetic_clips(n_signers=2, clips_per_sign=2)
    sents = make_sentences(clips, 40, max_glosses=3, seed=0)
    extra = sorted({g for s in sents for g in s.glosses})[0]  # a gloss only validation will have
    train = [s for s in sents if extra not in s.glosses][:24]
    valid = [s for s in sents if extra in s.glosses][:4] + [s for s in sents if extra not in s.glosses][24:30]
    write_sentences(tmp_path/'A', {'train': train}); write_sentences(tmp_path/'B', {'val': valid})
    write_sentences(tmp_path/'AB', {'train': train, 'val': valid})  # one folder, its own val split
    ids_a, ids_b = (json.loads((tmp_path/d/'label_map.json').read_text()) for d in 'AB')
    assert any(ids_a[g] != ids_b[g] for g in ids_a if g in ids_b)  # the same gloss has another id in B
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        m = train_recognizer(tmp_path/'A', tmp_path/'run', 'ctc-baseline', valid_data=tmp_path/'B', epochs=1, bs=8, progress=False, workers=0,
                             overrides=['model.dim=32', 'model.hands_dim=16', 'model.pose_dim=8', 'model.face_dim=8', 'model.conv_blocks=1'])
    assert m['data']['missing_glosses'] == [extra] and m['data']['dropped_valid_clips'] == 4 and m['data']['valid_clips'] == len(valid) - 4
    assert any('absent from training' in str(x.message) for x in w)
    rec = Recognizer.load(tmp_path/'run'/'model.pth')
    vstore = build_store(tmp_path/'B')
    r = evaluate_continuous(rec, vstore)
    assert r['unknown_gloss_clips'] == 4 and r['clips'] == len(valid) - 4
    assert r['greedy']['n'] == sum(len(s.glosses) for s in valid if extra not in s.glosses)  # references read by name from B
    # the same within one folder: the left-out validation clips never become training clips
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        m = train_recognizer(tmp_path/'AB', tmp_path/'run2', 'ctc-baseline', epochs=1, bs=8, progress=False, workers=0,
                             overrides=['model.dim=32', 'model.hands_dim=16', 'model.pose_dim=8', 'model.face_dim=8', 'model.conv_blocks=1'])
    assert (m['data']['train_clips'], m['data']['valid_clips'], m['data']['dropped_valid_clips']) == (len(train), len(valid) - 4, 4)
