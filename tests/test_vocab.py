"Error rates of slr_nb.vocab against jiwer, and decoding on random cases."
import math, random
import numpy as np, pytest, torch
from slr_nb.vocab import *

jiwer = pytest.importorskip('jiwer')

def random_pairs(n, vocab='abcde', seed=0):
    rng = random.Random(seed)
    return [([rng.choice(vocab) for _ in range(rng.randint(1, 8))], [rng.choice(vocab) for _ in range(rng.randint(0, 8))]) for _ in range(n)]

def test_wer_matches_jiwer():
    pairs = random_pairs(300)
    refs, hyps = [' '.join(r) for r, _ in pairs], [' '.join(h) for _, h in pairs]
    keep = [i for i, h in enumerate(hyps) if h]  # jiwer refuses empty hypotheses in a list with some versions
    refs, hyps = [refs[i] for i in keep], [hyps[i] for i in keep]
    out = jiwer.process_words(refs, hyps)
    c = error_counts(refs, hyps)
    assert math.isclose(wer(refs, hyps), out.wer, rel_tol=1e-12)
    assert c['hits'] + c['substitutions'] + c['deletions'] == out.hits + out.substitutions + out.deletions
    assert c['substitutions'] + c['deletions'] + c['insertions'] == out.substitutions + out.deletions + out.insertions

def test_each_pair_matches_jiwer():
    for r, h in random_pairs(200, seed=1):
        if not h: continue
        assert math.isclose(wer([r], [h]), jiwer.wer(' '.join(r), ' '.join(h)), rel_tol=1e-12), (r, h)

def test_cer_matches_jiwer():
    pairs = random_pairs(200, vocab='abcdefgh', seed=2)
    refs, hyps = [''.join(r) for r, _ in pairs], [''.join(h) or 'a' for _, h in pairs]
    assert math.isclose(cer([list(r) for r in refs], [list(h) for h in hyps]), jiwer.cer(refs, hyps), rel_tol=1e-12)

def test_beam_no_worse_than_greedy_in_probability():
    "The beam's sequence is at least as likely as the greedy one (scored exactly by a wide beam)."
    torch.manual_seed(0)
    for _ in range(20):
        lp = (torch.randn(12, 5) * 3).log_softmax(-1)
        scores = dict((tuple(i), s) for i, s in ctc_beam_search(lp, beam_width=2000, prune=-math.inf, nbest=2000, backend="python"))
        g, b = tuple(ctc_greedy_decode(lp)[0]), tuple(ctc_beam_search(lp, beam_width=8))  # the default backend
        assert scores.get(b, -math.inf) >= scores.get(g, -math.inf) - 1e-6

def test_vocab_ids_survive_reordering(tmp_path):
    "A vocabulary saved with a model and loaded again keeps its ids, whatever order data arrive in later."
    v = Vocab.from_sequences([['thanks', 'hello'], ['again']])
    ids = v.encode(['hello', 'again', 'thanks'])
    v2 = Vocab.load(v.save(tmp_path/'label_map.json')).add(['zebra', 'apple'])
    assert v2.encode(['hello', 'again', 'thanks']) == ids
    m, missing = v.id_map(Vocab(['apple', 'hello']))
    assert m.tolist() == [0, -1, v.encode(['hello'])[0]] and missing == ['apple']

def test_flashlight_agrees_with_python_beam():
    "flashlight-text's decoder and the prefix beam search find sequences of the same probability (python's is exact with a wide beam)."
    pytest.importorskip('flashlight.lib.text')
    lm = NGramLM(2).fit([[1, 2], [2, 1, 2], [3], [1, 3, 2]], vocab_size=4)
    torch.manual_seed(1)
    same = 0
    for _ in range(30):
        lp = (torch.randn(8, 4) * 2).log_softmax(-1)
        for model in (None, lm):
            (fi, fs), = ctc_beam_search(lp, 64, model, 0.5, nbest=2, backend='flashlight')[:1]
            (pi, ps), = ctc_beam_search(lp, 2000, model, 0.5, prune=-math.inf, nbest=2, backend='python')[:1]
            assert fs <= ps + 1e-4
            same += fi == pi
    assert same >= 50  # of 60: flashlight's pruning misses the best sequence only now and then
