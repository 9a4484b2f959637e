"""Continuous recognition on sentences made from real isolated clips (`slr-sentences`), on held-out sessions and
signers: WER of greedy and beam decoding for both continuous presets, against the default isolated classifier
trained on the same training clips and applied to fixed windows; fingerspelling CER. Prints JSON.

    python bench/continuous.py [--only ksl13,cafe-asl,letters] [--presets ctc-baseline,whisper-sign] [--epochs N]
                               [--n 2000] [--folds dmohazab,TheCamNelson,Alex] [--work DIR]

Splits (shared/data/README.md): ksl13 sentences for training come from clips of sessions MP_Data, MP_Data2,
MP_Data4 and validation sentences only from MP_Data1 and MP_Data3; cafe-asl and cafe-asl-letters leave one signer
out, validation sentences only from the held-out signer's clips of glosses the training signers share. Each
sentence is made of clips of one session or signer. The streaming figures run `StreamRecognizer` frame by frame
over the validation sentences of the better preset and compare its output with offline greedy decoding.
"""
import argparse, json, os, sys, time, warnings
from pathlib import Path
import numpy as np
import pandas as pd
import torch

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the project, not bench/
warnings.filterwarnings('ignore', message=r'`torch.jit.script` is deprecated', category=FutureWarning)
from slr_nb.core import real_data_dir
from slr_nb.data.store import build_store, split_by
from slr_nb.data.block import pad_collate
from slr_nb.data.sentences import build_sentences, read_words
from slr_nb.learner import train_recognizer
from slr_nb.inference import Recognizer, evaluate_continuous, StreamRecognizer
from slr_nb.vocab import wer, cer, edit_ops

SPLITS = {  # name: (dataset folder, group column, held-out groups per fold, sentence options)
    'ksl13': ('ksl13', 'session', [['MP_Data1', 'MP_Data3']], {}),
    'cafe-asl': ('cafe-asl', 'signer', [['dmohazab'], ['TheCamNelson'], ['Alex']], {}),
    'letters': ('cafe-asl-letters', 'signer', [['dmohazab'], ['TheCamNelson'], ['Alex']], dict(words=read_words('builtin'))),
}


def make_sentences(name, fold, n, work):
    "The sentence folder of one fold (built once, reused)."
    folder, col, _, opts = SPLITS[name]
    out = work/f"{name}-{'+'.join(fold)}-{n}"
    if not (out/'label_map.json').is_file():
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            build_sentences(real_data_dir()/folder, out, n=n, n_valid=max(100, n // 5), split_by=col, valid_values=fold, overwrite=True, **opts)
    return out


def window_baseline(name, fold, sent, work, epochs):
    "WER of the default isolated classifier (trained on the training groups' clips) over fixed windows of each validation sentence."
    folder, col, _, _ = SPLITS[name]
    run = work/f"isolated-{name}-{'+'.join(fold)}-{epochs}"
    if not (run/'model.pth').is_file():
        train_recognizer(real_data_dir()/folder, run, 'default', split_by=col, valid_values=','.join(fold), epochs=epochs, progress=False)
    rec = Recognizer.load(run/'model.pth')
    iso = build_store(real_data_dir()/folder)
    width = int(np.median(iso.lengths))  # one window per clip length, half-overlapping
    store = build_store(sent); val = np.flatnonzero(store.items.group == 'val')
    refs, hyps = [], []
    with torch.inference_mode():
        for i in val:
            x = store.clip(i)
            starts = range(0, max(1, len(x) - width + 1), max(1, width // 2))
            wins = [(torch.from_numpy(x[s:s + width]),) for s in starts]
            logits = rec.model(*pad_collate(wins)[:2])
            labels = [rec.classes[k] for k in logits.argmax(-1).tolist()]
            seq = [l for j, l in enumerate(labels) if (j == 0 or labels[j - 1] != l) and l != '-']
            refs.append(list(store.items.glosses.iloc[i])); hyps.append(seq)
    return dict(wer=wer(refs, hyps), window=width, hop=max(1, width // 2))


def stream_figures(rec, store, idxs, spans, window=192, hop=4, settle=32, limit=100):
    "Streaming vs offline greedy WER and the mean delay (frames) between a gloss's last frame and its emission."
    refs, offline, online, delays = [], [], [], []
    sr = StreamRecognizer(rec, window=window, hop=hop, settle=settle)
    for i in idxs[:limit]:
        x = store.clip(i)
        refs.append(list(store.items.glosses.iloc[i])); offline.append(rec.transcribe(x, 'greedy'))
        online.append(sr.run(x))
        ends = [b for a, b in spans[i]]
        k = j = 0
        for op, r, h in edit_ops(refs[-1], [g for g, _ in sr.events]):  # delays of the glosses said right
            if op == 'hit': delays.append(sr.events[j][1] - ends[k])
            if op in ('hit', 'sub', 'del'): k += 1
            if op in ('hit', 'sub', 'ins'): j += 1
    return dict(clips=len(refs), offline_wer=wer(refs, offline), stream_wer=wer(refs, online), window=window, hop=hop, settle=settle,
                mean_delay_frames=float(np.mean(delays)) if delays else None, max_delay_frames=int(np.max(delays)) if delays else None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--only', default='ksl13,cafe-asl,letters'); ap.add_argument('--presets', default='ctc-baseline,whisper-sign')
    ap.add_argument('--epochs', type=int, default=None, help="epochs of every run (each preset's own when not given)")
    ap.add_argument('--n', type=int, default=2000, help='training sentences per fold')
    ap.add_argument('--folds', default=None, help='only these held-out signers (cafe-asl, letters)')
    ap.add_argument('--baseline-epochs', type=int, default=30); ap.add_argument('--no-baseline', action='store_true')
    ap.add_argument('--set', action='append', default=[], help='KEY=VALUE overrides of every continuous run')
    ap.add_argument('--work', default=os.environ.get('SLR_NB_BENCH_DIR', '/tmp/slr_nb_bench_continuous'))
    a = ap.parse_args()
    work = Path(a.work); work.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
    results = dict(epochs=a.epochs, n_train_sentences=a.n, threads=torch.get_num_threads(), datasets={})
    for name in a.only.split(','):
        _, _, folds, _ = SPLITS[name]
        if a.folds and name != 'ksl13': folds = [f for f in folds if f[0] in a.folds.split(',')]
        rows = []
        for fold in folds:
            sent = make_sentences(name, fold, a.n, work)
            table = pd.read_csv(sent/'sentences.csv', keep_default_na=False)
            store = build_store(sent); val = np.flatnonzero(store.items.group == 'val')
            row = dict(held_out=fold, train_sentences=int((store.items.group == 'train').sum()), valid_sentences=len(val), presets={})
            for preset in a.presets.split(','):
                run = work/f"{preset}-{sent.name}-{a.epochs}"
                t0 = time.time()
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore')
                    m = train_recognizer(sent, run, preset, progress=False, overrides=a.set, **({'epochs': a.epochs} if a.epochs else {}))
                rec = Recognizer.load(run/'model.pth')
                ev = evaluate_continuous(rec, store, val, decoders=('greedy', 'beam'))
                r = dict(wer_greedy=ev['greedy']['wer'], wer_beam=ev['beam']['wer'], sequence_accuracy_beam=ev['beam']['sequence_accuracy'],
                         epochs_done=m['final_results']['epochs_done'], train_seconds=round(time.time() - t0, 1), params=m['model_info']['params'])
                if name == 'letters':  # character error rate of the spelled words
                    hyps = [rec.transcribe(store.clip(i), 'beam') for i in val]
                    r['cer_beam'] = cer([list(store.items.glosses.iloc[i]) for i in val], hyps)
                row['presets'][preset] = r
                print(json.dumps({name: fold, preset: r}), file=sys.stderr)
            if not a.no_baseline and name != 'letters': row['window_baseline'] = window_baseline(name, fold, sent, work, a.baseline_epochs)
            best = min(row['presets'], key=lambda p: row['presets'][p]['wer_beam'])
            if name == 'ksl13' or fold == folds[0]:
                rec = Recognizer.load(work/f"{best}-{sent.name}-{a.epochs}"/'model.pth')
                by_id = table.set_index('id').spans
                spans = {i: [tuple(map(int, s.split('-'))) for s in by_id[Path(store.items.source.iloc[i]).stem].split('|')] for i in val}
                row['streaming'] = [dict(preset=best, **stream_figures(rec, store, val, spans, w, 4, st)) for w, st in ((96, 16), (192, 32))]
            rows.append(row)
        means = {p: float(np.mean([r['presets'][p]['wer_beam'] for r in rows])) for p in rows[0]['presets']}
        results['datasets'][name] = dict(folds=rows, mean_wer_beam=means,
                                         **({'mean_window_baseline_wer': float(np.mean([r['window_baseline']['wer'] for r in rows]))} if 'window_baseline' in rows[0] else {}))
    print(json.dumps(results, indent=1), file=json_out)


if __name__ == '__main__':
    json_out, sys.stdout = sys.stdout, sys.stderr  # only the JSON on stdout (fastai prints its early stop)
    main()
