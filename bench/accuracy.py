"""Accuracy on signers and sessions never seen in training: a training preset (default: `default`) against a
logistic-regression baseline on per-clip statistics of the same landmarks, on the real splits. Prints JSON.

    python bench/accuracy.py [--preset default] [--only ksl13,cafe-asl,asl-signs,cafe-asl-59,synthetic-250] [--sparse] [--epochs N]

Each fold trains the preset's whole recipe with `train_recognizer`, as `slr-train` does with no flags: the length
the preset decides (the default's: a search on a monitor share of the training clips, then a fit on all of them),
its "no sign" threshold; `--epochs N` gives every preset the same fixed budget instead.

Splits (see shared/data/README.md): ksl13 trains on sessions MP_Data, MP_Data2, MP_Data4 and validates on
MP_Data1, MP_Data3; cafe-asl leaves one signer out (3 folds; accuracy counted on clips whose class occurs
in that fold's training signers, the all-class figure beside it); asl-signs leaves one participant out (5 folds);
cafe-asl-59 is cafe-asl's words and cafe-asl-letters' letters together (one vocabulary of 59 classes, `-` shared),
leave one signer out. synthetic-250 is the scale of vocabulary: 250 composed signs of `data.synthetic`
(`synthetic_vocabulary(250)`: handshape, place, movement, one or two hands) by 6 synthetic signers, 8 clips of
each sign by each, written under the work folder; it trains on signers 0 to 3 and holds out signers 4 and 5
(5 left-handed, as 1 is among the training signers). cafe-asl-59 and synthetic-250 run only when named in
`--only`. Where the held-out signer has `-` (no sign) clips, the fold also reports the share of them
the recognizer rejects and the share of its signed clips it wrongly rejects ("no sign": no hands, the `-` class,
or a top probability under the threshold the run chose on training clips).
`--sparse` keeps only the nose and both wrists of every clip (everything else missing), as simple trackers give.
The handedness check mirrors every validation clip (flip with the full left/right landmark swap) and
reports the accuracy on the mirrored copies beside the plain one.
"""
import argparse, json, os, shutil, sys, tempfile, time, warnings
from collections import Counter
from dataclasses import replace
from pathlib import Path
import numpy as np
import pandas as pd
import torch

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the project, not bench/ (whose profile.py would shadow the standard library)
warnings.filterwarnings('ignore', message=r'`torch.jit.script` is deprecated', category=FutureWarning)
from fastai.torch_core import set_seed
from slr_nb.core import real_data_dir, PARTS
from slr_nb.data.store import build_store, split_by
from slr_nb.data.block import ClipDataLoaders, pad_collate
from slr_nb.data.augment import Augment, hflip
from slr_nb.preprocess import PreprocessingLayer
from slr_nb.models.isolated import make_model
from slr_nb.learner import train_recognizer, load_recognizer_file
from slr_nb.inference import Recognizer, NO_SIGN
from slr_nb.data.synthetic import synthetic_vocabulary, write_synthetic_npz

SPLITS = {  # dataset: (column, list of held-out value lists)
    'ksl13': ('session', [['MP_Data1', 'MP_Data3']]),
    'cafe-asl': ('signer', [['dmohazab'], ['TheCamNelson'], ['Alex']]),
    'asl-signs': ('group', [['2044'], ['25571'], ['30680'], ['37779'], ['62590']]),
    'cafe-asl-59': ('signer', [['dmohazab'], ['TheCamNelson'], ['Alex']]),
    'synthetic-250': ('signer', [['synthetic-signer4', 'synthetic-signer5']]),
}
TARGETS = {'ksl13': 0.996, 'cafe-asl': 0.95, 'asl-signs': 0.97, 'cafe-asl-59': None, 'synthetic-250': 0.95}
ONLY_WHEN_NAMED = ('cafe-asl-59', 'synthetic-250')  # not in a run without --only
SPARSE_POINTS = [PARTS['pose'].start + i for i in (0, 15, 16)]  # the pose's nose and both wrists


def npz_copy(store, out:Path, keep=None)->Path:
    "An NPZ folder of every clip of `store` as [T, 543, 3] (only the landmarks `keep` when given), labels and groups kept."
    if (out/'labels.csv').is_file(): return out
    tmp = out.with_name(out.name + '.tmp'); shutil.rmtree(tmp, ignore_errors=True); (tmp/'clips').mkdir(parents=True)
    rows = []
    for i in range(len(store)):
        x = store.clip(i).astype(np.float32)
        if keep is not None: y = np.full_like(x, np.nan); y[:, keep] = x[:, keep]; x = y
        np.savez(tmp/'clips'/f'{i:06d}.npz', X=x)
        it = store.items.iloc[i]
        rows.append(dict(file=f'{i:06d}.npz', gloss=it.label, cat=it.category or '', signer=it.group))
    pd.DataFrame(rows).to_csv(tmp/'labels.csv', index=False)
    tmp.replace(out)
    return out


def dataset(name:str, data:Path, work:Path, sparse:bool)->Path:
    "The folder a split trains on: the real one, cafe-asl words + letters in one folder, the synthetic one, or a sparse copy."
    if name == 'synthetic-250':  # written once (kept while its settings are the same), about 3 GB
        src = write_synthetic_npz(work/'synthetic-250', signs=synthetic_vocabulary(250), n_signers=6, clips_per_sign=8)
    elif name == 'cafe-asl-59':
        src = work/'cafe-asl-59'
        if not (src/'labels.csv').is_file(): npz_copy(_Both(build_store(data/'cafe-asl'), build_store(data/'cafe-asl-letters')), src)
    else: src = data/name
    return npz_copy(build_store(src), work/f'{name}-sparse', SPARSE_POINTS) if sparse else src


class _Both:
    "Two stores read as one (the clips of `a`, then those of `b`)."
    def __init__(self, a, b): self.a, self.b, self.items = a, b, pd.concat([a.items, b.items], ignore_index=True)
    def __len__(self): return len(self.a) + len(self.b)
    def clip(self, i): return self.a.clip(i) if i < len(self.a) else self.b.clip(i - len(self.a))


def predict(model, store, idxs, mirror=False, bs=128):
    "Class probabilities of each clip (optionally of its mirror image)."
    model.eval(); out = []
    with torch.inference_mode():
        for s in range(0, len(idxs), bs):
            clips = [store.clip(i) for i in idxs[s:s + bs]]
            if mirror: clips = [hflip(c) for c in clips]
            x, mask = pad_collate([(torch.from_numpy(c),) for c in clips])
            logits = model(x, mask)
            out.append((logits[0] if isinstance(logits, tuple) else logits).softmax(-1).numpy())  # two-head models: the gloss
    return np.concatenate(out)


def clip_statistics(store, idxs, preprocess):
    "Baseline features: mean, std, min and max over time of each normalised landmark coordinate."
    feats = []
    with torch.inference_mode():
        for i in idxs:
            f, _ = preprocess(torch.from_numpy(store.clip(i)))
            f = f.numpy()
            feats.append(np.concatenate([f.mean(0), f.std(0), f.min(0), f.max(0)]))
    return np.stack(feats)


def baseline(store, train, valid, y, preprocess):
    "Logistic regression on per-clip statistics of the same (normalised) landmarks."
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from sklearn.pipeline import make_pipeline
    Xtr, Xva = clip_statistics(store, train, preprocess), clip_statistics(store, valid, preprocess)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=0.5))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        clf.fit(Xtr, y[train])
    return clf.predict(Xva)


def no_sign_figures(rec, store, valid, train)->dict:
    "On the held-out clips: the share of `-` clips rejected and of signed clips of classes the training clips have (`train`) wrongly rejected."
    labels = store.items.label.to_numpy()
    trained = np.unique(labels[train])  # the vocabulary also names classes only the held-out signer has: rejecting those is right
    labels = labels[valid]
    blank, signed = labels == '-', (labels != '-') & np.isin(labels, trained)
    if not blank.any(): return {}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        said = np.array([rec.predict(store.clip(int(i)), topk=1).sign for i in valid])
    return {'no_sign_threshold': rec.threshold, 'no_sign_rejected': round(float((said[blank] == NO_SIGN).mean()), 4),
            'signed_wrongly_rejected': round(float((said[signed] == NO_SIGN).mean()), 4)}


def run_fold(store, source, col, held_out, epochs, preset, seed=42, sets=(), keep=None):
    "Train `preset` (its whole recipe: length, schedule, dropout, stages, threshold) with `held_out` left out; the fold's figures."
    train, valid = split_by(store.items, col, held_out)
    t = time.time()
    with tempfile.TemporaryDirectory() as run_dir:
        m = train_recognizer(source, Path(run_dir)/'run', preset, split_by=col, valid_values=','.join(map(str, held_out)),
                             seed=seed, progress=False, overrides=list(sets), **({'epochs': epochs} if epochs else {}))
        model, blob = load_recognizer_file(Path(run_dir)/'run'/'model.pth')
        if keep: Path(keep).mkdir(parents=True, exist_ok=True); shutil.copy(Path(run_dir)/'run'/'model.pth', Path(keep)/f"{'+'.join(map(str, held_out))}.pth")
        no_sign = no_sign_figures(Recognizer.load(Path(run_dir)/'run'/'model.pth'), store, valid, train)
    dls_vocab = blob['classes']
    train_s = time.time() - t
    o2i = {c: i for i, c in enumerate(dls_vocab)}
    y = np.array([o2i[l] for l in store.items.label])
    prob, prob_m = predict(model, store, valid), predict(model, store, valid, mirror=True)
    pred, pred_m, pred_tta = prob.argmax(1), prob_m.argmax(1), (prob + prob_m).argmax(1)  # tta: each clip and its mirror image
    known = np.isin(y[valid], np.unique(y[train]))
    # the baseline sees the x, y, z positions of the model's landmarks, centred and scaled by their spread: a fixed
    # input, so that changing the model's features never weakens (or strengthens) the baseline it is compared with
    pre = PreprocessingLayer(replace(model.preprocess.config, features=('position',), coords=3, scale_by='spread',
                                     skip_handless_frames=False, max_len=None))
    pred_b = baseline(store, train, valid, y, pre)
    acc = lambda p, m=slice(None): float((p == y[valid])[m].mean())
    wrong = Counter(f"{dls_vocab[t]} -> {dls_vocab[q]}" for t, q, k in zip(y[valid], pred, known) if k and t != q)
    return {'held_out': held_out, 'train_clips': len(train), 'valid_clips': len(valid), 'known_class_clips': int(known.sum()),
            'model_acc': acc(pred, known), 'model_acc_all_classes': acc(pred), 'model_acc_mirrored': acc(pred_m, known), 'model_acc_tta_mirror': acc(pred_tta, known),
            'baseline_acc': acc(pred_b, known), 'top_confusions': dict(wrong.most_common(6)), 'baseline_acc_all_classes': acc(pred_b),
            'train_seconds': round(train_s, 1), 'epochs': epochs, 'epochs_done': m['final_results']['epochs_done'],
            'search': {k: m['search'].get(k) for k in ('epochs_done', 'best_epoch', 'monitor_clips', 'monitor_groups', 'stop_reason', 'train_seconds')} if 'search' in m else None,
            **no_sign}


def main(preset='default', only=None, epochs=None, sparse=False, sets=(), folds_only=None, work=None, keep=None, seed=42):
    data = real_data_dir() if not only or set(only) - {'synthetic-250'} else None  # the synthetic set needs no real data
    out = {'preset': preset, 'epochs': epochs or "the preset's own", 'sparse': sparse, 'set': list(sets)}
    work = Path(work or os.environ.get('SLR_NB_BENCH_DIR', '/tmp/slr_nb_bench_accuracy'))
    for name, (col, folds) in SPLITS.items():
        if (only and name not in only) or (not only and name in ONLY_WHEN_NAMED): continue
        src = dataset(name, data, work, sparse)
        store = build_store(src)
        if sparse or name == 'cafe-asl-59': col = 'signer' if name != 'asl-signs' else 'group'
        folds = [f for f in folds if not folds_only or f[0] in folds_only]
        try: res = [run_fold(store, src, col if col in store.items.columns else 'group', f, epochs, preset, seed=seed, sets=sets, keep=keep and Path(keep)/name) for f in folds]
        except ValueError as e:  # e.g. a two-head preset on a dataset without categories
            out[name] = {'skipped': str(e)}; print(f"{name}: skipped ({e})", file=sys.stderr); continue
        mean = lambda k: round(float(np.mean([r[k] for r in res])), 4)
        out[name] = {'folds': res, 'model_acc': mean('model_acc'), 'model_acc_all_classes': mean('model_acc_all_classes'),
                     'model_acc_mirrored': mean('model_acc_mirrored'), 'model_acc_tta_mirror': mean('model_acc_tta_mirror'), 'baseline_acc': mean('baseline_acc'),
                     'target': TARGETS[name], 'meets_target': TARGETS[name] is None or mean('model_acc') >= TARGETS[name],
                     'train_seconds': round(sum(r['train_seconds'] for r in res), 1),
                     'above_baseline': mean('model_acc') > mean('baseline_acc'),  # on the dataset's split (mean of folds)
                     'folds_below_baseline': [r['held_out'] for r in res if r['model_acc'] < r['baseline_acc']],
                     'folds_tied_with_baseline': [r['held_out'] for r in res if r['model_acc'] == r['baseline_acc']],
                     'mirror_gap_points': round(100 * (mean('model_acc') - mean('model_acc_mirrored')), 2)}
        print(f"{name}: model {out[name]['model_acc']:.4f} (mirrored {out[name]['model_acc_mirrored']:.4f}), baseline {out[name]['baseline_acc']:.4f}", file=sys.stderr)
    return out


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--preset', default='default')
    p.add_argument('--only', default=None, help='comma-separated datasets')
    p.add_argument('--epochs', type=int, default=None, help="one fixed epoch budget for every dataset (default: the preset's own length)")
    p.add_argument('--sparse', action='store_true', help='only the nose and both wrists of every clip')
    p.add_argument('--folds', default=None, help='comma-separated first held-out value of the folds to run (default: all)')
    p.add_argument('--set', action='append', default=[], help='KEY=VALUE preset setting (repeatable)')
    p.add_argument('--work', default=None, help='where the derived datasets go ($SLR_NB_BENCH_DIR or /tmp/slr_nb_bench_accuracy)')
    p.add_argument('--keep', default=None, help="a folder to keep each fold's model file in (DIR/DATASET/HELD_OUT.pth), e.g. for bench/ensemble.py")
    p.add_argument('--seed', type=int, default=42)
    a = p.parse_args()
    json_out, sys.stdout = sys.stdout, sys.stderr  # only the JSON on stdout (fastai prints its early stop)
    print(json.dumps(main(a.preset, a.only.split(',') if a.only else None, a.epochs, a.sparse, a.set, a.folds.split(',') if a.folds else None, a.work, a.keep, a.seed), indent=1), file=json_out)
