""""No sign" rejection on a held-out signer. Prints JSON.

    python bench/no_sign.py [--signer dmohazab] [--preset default] [--epochs N] [--work DIR]

Trains `--preset` on cafe-asl without `--signer` (its clips are the validation set), so the threshold is chosen on
the training signers' clips (the search's monitor share, passed through the training augmentation; the final model
then trains on every training clip) without looking at that signer. Then, on every clip of the held-out signer: the share of its `-` (no sign) clips that the recognizer
rejects ("no sign": no hands, the `-` class, or top probability under the threshold), and the share of its signed
clips it wrongly rejects; accuracy on the signed clips with and without rejection counted as an error; and, for
reading only, the same shares at a few other thresholds.
"""
import argparse, json, os, sys, time, warnings
from pathlib import Path
import numpy as np
import torch

sys.path[0] = str(Path(__file__).resolve().parents[1])
from slr_nb.core import real_data_dir
from slr_nb.data.store import build_store
from slr_nb.learner import train_recognizer
from slr_nb.inference import Recognizer, NO_SIGN


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--signer', default='dmohazab'); ap.add_argument('--preset', default='default'); ap.add_argument('--epochs', type=int, default=None)
    ap.add_argument('--work', default=os.environ.get('SLR_NB_BENCH_DIR', '/tmp/slr_nb_bench_no_sign'))
    a = ap.parse_args()
    data = real_data_dir()/'cafe-asl'
    run = Path(a.work)/f"{a.preset}-cafe-asl-{a.signer}-{a.epochs}"
    t0 = time.time()
    if not (run/'model.pth').is_file():
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            train_recognizer(data, run, a.preset, split_by='signer', valid_values=a.signer, progress=False, **({'epochs': a.epochs} if a.epochs else {}))
    rec = Recognizer.load(run/'model.pth')
    store = build_store(data)
    idx = np.flatnonzero(store.items.signer.to_numpy() == a.signer)
    labels = store.items.label.to_numpy()[idx]
    preds = []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for i in idx: preds.append(rec.predict(store.clip(int(i)), topk=1))
    said = np.array([p.sign for p in preds]); top = np.array([p[0][0] for p in preds])
    reasons = [p.rejected for p in preds]
    trained = np.unique(store.items.label.to_numpy()[store.items.signer.to_numpy() != a.signer])  # the vocabulary also names classes only this signer has
    blank, known = labels == '-', np.isin(labels, trained)
    signed = ~blank & known
    out = dict(preset=a.preset, held_out=a.signer, threshold=rec.threshold, calibration=rec.info.get('no_sign'),
               clips=int(len(idx)), no_sign_clips=int(blank.sum()), signed_clips=int(signed.sum()), signed_clips_of_unknown_classes=int((~blank & ~known).sum()),
               no_sign_rejected=float((said[blank] == NO_SIGN).mean()) if blank.any() else None,
               signed_wrongly_rejected=float((said[signed] == NO_SIGN).mean()),
               signed_accuracy_top1=float((top[signed] == labels[signed]).mean()),
               signed_accuracy_with_rejection=float((said[signed] == labels[signed]).mean()),
               rejections_by_reason={r: int(sum(1 for x in reasons if (x or '').startswith(r))) for r in ('no hands', 'no-sign class', 'below threshold')},
               seconds=round(time.time() - t0, 1))
    # for reading only (never used to choose): what other thresholds would do on this signer
    hands = np.array([p.rejected != 'no hands' for p in preds]); probs = np.array([p.probability for p in preds])
    out['sweep'] = {str(t): dict(no_sign_rejected=float(((~hands | (probs < t) | (top == '-'))[blank]).mean()) if blank.any() else None,
                                 signed_wrongly_rejected=float(((~hands | (probs < t) | (top == '-'))[signed]).mean()))
                    for t in (0.3, 0.5, 0.6, 0.7, 0.8, 0.9)}
    print(json.dumps(out, indent=1), file=json_out)


if __name__ == '__main__':
    json_out, sys.stdout = sys.stdout, sys.stderr  # only the JSON on stdout (fastai prints its early stop)
    main()
