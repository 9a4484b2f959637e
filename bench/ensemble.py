"""Ensembles and test-time mirroring on held-out signers: the fold models that `bench/accuracy.py --keep DIR` kept,
each alone, averaged (`slr_nb.inference.ensemble`) and averaged with each clip's mirror image. Prints JSON.

    python bench/accuracy.py --only cafe-asl --keep runs/a [--seed 1 --set ...]    # once per member
    python bench/ensemble.py --only cafe-asl runs/a runs/b [runs/c ...] [--sparse]

A fold is scored where every member folder has its model (DIR/DATASET/HELD_OUT.pth); accuracy is on the held-out
clips of classes the fold's training signers have, as in `bench/accuracy.py`, with the "no sign" figures where the
held-out signer has `-` clips.
"""
import argparse, json, sys, warnings
from pathlib import Path
import numpy as np
import torch
sys.path.insert(0, str(Path(__file__).parent))
from accuracy import SPLITS, dataset, predict, no_sign_figures
from slr_nb.core import real_data_dir
from slr_nb.data.store import build_store, split_by
from slr_nb.inference import Recognizer, ensemble


def fold_figures(store, col, held_out, members:list)->dict:
    "Each member's accuracy on the fold, the ensemble's, and the ensemble's with mirroring."
    train, valid = split_by(store.items, col, held_out)
    recs = [Recognizer.load(m) for m in members]
    classes = recs[0].classes
    o2i = {c: i for i, c in enumerate(classes)}
    y = np.array([o2i.get(l, -1) for l in store.items.label])
    known = np.isin(y[valid], np.unique(y[train]))
    acc = lambda model: float((predict(model, store, valid).argmax(1) == y[valid])[known].mean())
    both, mirrored = ensemble(recs), ensemble(recs, mirror=True)
    return {'held_out': held_out, 'known_class_clips': int(known.sum()), 'members': [acc(r.model) for r in recs],
            'ensemble': acc(both.model), 'ensemble_mirror': acc(mirrored.model),
            'no_sign_members': [no_sign_figures(r, store, valid, train) for r in recs], 'no_sign_ensemble': no_sign_figures(both, store, valid, train)}


def main(name:str, dirs:list, sparse=False, work='/tmp/slr_nb_bench_accuracy'):
    col, folds = SPLITS[name]
    src = dataset(name, real_data_dir() if name != 'synthetic-250' else None, Path(work), sparse)
    store = build_store(src)
    if sparse or name == 'cafe-asl-59': col = 'signer' if name != 'asl-signs' else 'group'
    col = col if col in store.items.columns else 'group'
    res = []
    for f in folds:
        files = [Path(d)/name/f"{'+'.join(f)}.pth" for d in dirs]
        if all(p.is_file() for p in files): res.append(fold_figures(store, col, f, files))
    mean = lambda k: round(float(np.mean([r[k] for r in res])), 4) if res else None
    return {'dataset': name, 'sparse': sparse, 'members': [str(d) for d in dirs], 'folds': res,
            'members_mean': [round(float(np.mean([r['members'][i] for r in res])), 4) for i in range(len(dirs))] if res else None,
            'ensemble': mean('ensemble'), 'ensemble_mirror': mean('ensemble_mirror')}


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('dirs', nargs='+', help='folders given to bench/accuracy.py --keep')
    p.add_argument('--only', required=True, help='the dataset (one of bench/accuracy.py SPLITS)')
    p.add_argument('--sparse', action='store_true')
    p.add_argument('--work', default='/tmp/slr_nb_bench_accuracy')
    a = p.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        print(json.dumps(main(a.only, a.dirs, a.sparse, a.work), indent=1))
