"""token_candidates and candidate_spans: against a brute-force reference, on
real fast tokenizers trained locally (byte-level BPE and WordPiece), and their
errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import shapley_sets as ss
from shapley_sets.grpo import candidate_spans, token_candidates


def reference_ids(offsets, spans):
    """The definition, one token and one candidate at a time."""
    out = []
    for row, cands in zip(offsets, spans):
        ids = []
        for a, b in row:
            best, cover = -1, 0
            for k, (s, e) in enumerate(cands):
                c = min(b, e) - max(a, s)
                if c > cover:  # strictly more: the earlier candidate keeps a tie
                    best, cover = k, c
            ids.append(best if b > a else -1)
        out.append(ids)
    return out


@st.composite
def offsets_and_spans(draw):
    n = draw(st.integers(1, 4))
    length = draw(st.integers(0, 40))
    offsets, spans = [], []
    t = draw(st.integers(0, 12))
    for _ in range(n):
        row = []
        for _ in range(t):
            a = draw(st.integers(0, length))
            b = draw(st.integers(a, min(length, a + 6)))
            row.append((a, b))  # any order, overlapping tokens, zero-length ones
        offsets.append(row)
        cuts = sorted(draw(st.lists(st.integers(0, length), max_size=10)))
        pairs = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
        # Candidate order need not be text order; empty candidates anywhere.
        pairs = draw(st.permutations(pairs))
        if draw(st.booleans()):
            pairs.insert(draw(st.integers(0, len(pairs))), (draw(st.integers(0, length)),) * 2)
        spans.append(pairs)
    return offsets, spans


@given(offsets_and_spans())
def test_matches_the_definition(case):
    offsets, spans = case
    got = token_candidates(offsets, spans)
    assert got.dtype == np.int64
    assert got.tolist() == reference_ids(offsets, spans)


def test_ties_and_straddling_tokens():
    # token (2, 6) covers 2 chars of (0, 4) and 2 of (4, 9): a tie, the earlier candidate
    # wins, whichever is listed first in the text.
    assert token_candidates([[(2, 6)]], [[(0, 4), (4, 9)]]).tolist() == [[0]]
    assert token_candidates([[(2, 6)]], [[(4, 9), (0, 4)]]).tolist() == [[0]]
    # (1, 6) covers 3 of (0, 4) and 2 of (4, 9); a gap token; one in no span
    assert token_candidates([[(1, 6), (9, 11), (20, 22)]], [[(0, 4), (4, 9), (11, 15)]]).tolist() == [[0, -1, -1]]


def test_array_and_list_spans_agree_and_empty_candidates_own_nothing():
    rng = np.random.default_rng(0)
    n, t, k = 6, 30, 4
    lens = rng.integers(1, 4, size=(n, t))
    ends = np.cumsum(lens, axis=1)
    offsets = np.stack([ends - lens, ends], -1)
    cuts = np.sort(rng.integers(0, ends[:, -1:], size=(n, 2 * k)), axis=1)
    spans = cuts.reshape(n, k, 2)
    spans[:, 1, 1] = spans[:, 1, 0]  # candidate 1 empty in every row
    as_list = [[tuple(map(int, p)) for p in row] for row in spans]
    got = token_candidates(offsets, spans)
    assert np.array_equal(got, token_candidates(offsets, as_list))
    assert got.tolist() == reference_ids(offsets.tolist(), as_list)
    assert not (got == 1).any()


def test_ragged_rows_response_mask_and_input_untouched():
    offsets = [[(0, 2), (2, 4), (4, 6)], [(0, 3)], []]
    spans = [[(0, 4)], [(0, 3)], []]
    assert token_candidates(offsets, spans).tolist() == [[0, 0, -1], [0, -1, -1], [-1, -1, -1]]
    off = np.array([[[0, 2], [2, 4]]])
    before = off.copy()
    assert token_candidates(off, [[(0, 4)]], response_mask=[[True, False]]).tolist() == [[0, -1]]
    assert np.array_equal(off, before)


def test_span_lists_take_python_and_numpy_integers_and_refuse_what_does_not_fit():
    off = np.array([[[0, 2], [2, 4], [4, 6]]])
    want = [[0, 0, 1]]
    for spans in ([[(0, 4), (4, 6)]], [[[0, 4], [4, 6]]], [[(np.int64(0), np.int32(4)), (np.uint8(4), 6)]]):
        assert token_candidates(off, spans).tolist() == want
    for bad in ([[(0, 4), (4, 6.0)]], [[(0, 4), (np.float64(4), 6)]]):
        with pytest.raises(TypeError, match="spans must hold integers"):
            token_candidates(off, bad)
    with pytest.raises(TypeError, match=r"spans\[0\] must be a sequence of \(start, end\) pairs"):
        token_candidates(off, [[(0, 2**70)]])


def test_torch_in_torch_out():
    torch = pytest.importorskip("torch")
    off = torch.tensor([[[0, 2], [2, 4], [0, 0]]])
    got = token_candidates(off, [[(2, 4)]], response_mask=torch.tensor([[1, 1, 0]]))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.int64
    assert got.tolist() == [[-1, 0, -1]]


@pytest.mark.parametrize(
    "offsets, spans, kwargs, error, message",
    [
        ([[(0, 2), (3, 1)]], [[(0, 2)]], {}, ValueError, r"completion 0, token 1 has \(3, 1\)"),
        ([[(-1, 2)]], [[(0, 2)]], {}, ValueError, r"completion 0, token 0 has \(-1, 2\)"),
        ([[(0, 2)], [(0, 2)]], [[(0, 2)], [(0, 5), (6, 7), (4, 8)]], {}, ValueError,
         r"spans of completion 1 overlap: candidate 0 \(0, 5\) and candidate 2 \(4, 8\)"),
        ([[(0, 2)]], [[(0, 2), (5, 3)]], {}, ValueError, r"completion 0, candidate 1 has \(5, 3\)"),
        ([[(0, 2)]], [[(-2, 3)]], {}, ValueError, r"completion 0, candidate 0 has \(-2, 3\)"),
        ([[(0, 2)]], [[(0, 2)], [(0, 1)]], {}, ValueError, r"one list per completion \(1\), got 2"),
        ([[(0, 2)]], [[(0, 2.5)]], {}, TypeError, "spans must hold integers"),
        ([[(0.0, 2.0)]], [[(0, 2)]], {}, TypeError, r"offsets\[0\] must hold integers"),
        ([[(0, 2, 3)]], [[(0, 2)]], {}, ValueError, r"offsets\[0\] must be a list of \(a, b\) pairs"),
        ([[(0, 2)], [(0, 1), (2,)]], [[], []], {}, ValueError, r"offsets\[1\] must be a list of \(a, b\) pairs"),
        ([[(0, 2)], 5], [[], []], {}, ValueError, r"offsets\[1\] must be a list of \(a, b\) pairs, got shape \(\)"),
        ([[(0, 1), 5]], [[]], {}, ValueError, r"offsets\[0\] must be a list of \(a, b\) pairs"),
        ([[(None, 1)]], [[]], {}, TypeError, r"offsets\[0\] must hold integers"),
        (np.zeros((2, 3), dtype=int), [[], []], {}, ValueError, r"offsets must have shape \(N, T, 2\)"),
        ([[(0, 2)]], [[(0, 1, 2)]], {}, TypeError, r"spans\[0\] must be a sequence of \(start, end\) pairs"),
        # pairs of other lengths that would flatten to whole pairs, a number for a pair, a number
        # for a completion's list, a pair of pairs, a string: each named, never numpy's own error
        ([[(0, 2)], [(0, 2)]], [[(0, 1)], [(0, 1, 2), (2,)]], {}, TypeError, r"spans\[1\] must be a sequence of \(start"),
        ([[(0, 2)]], [[(0, 1), 5]], {}, TypeError, r"spans\[0\] must be a sequence of \(start, end\) pairs"),
        ([[(0, 2)], [(0, 2)]], [[(0, 1)], 5], {}, TypeError, r"spans\[1\] must be a sequence of \(start, end\) pairs"),
        ([[(0, 2)]], [[((0, 1), (1, 2))]], {}, TypeError, r"spans\[0\] must be a sequence of \(start, end\) pairs"),
        ([[(0, 2)]], [["ab"]], {}, TypeError, r"spans\[0\] must be a sequence of \(start, end\) pairs"),
        ([[(0, 2)]], [[(None, 1)]], {}, TypeError, r"spans\[0\] must be a sequence of \(start, end\) pairs"),
        ([[(0, 2)]], np.zeros((1, 2, 3), dtype=int), {}, ValueError, r"shape \(1, K, 2\)"),
        ([[(0, 2)]], "0,2", {}, TypeError, "spans must be a sequence"),
        ("0,2", [[(0, 2)]], {}, TypeError, "offsets must be"),
        ([[(0, 2)]], [[(0, 2)]], {"response_mask": [[1, 1]]}, ValueError, r"response_mask must have .* \(1, 1\)"),
    ],
)
def test_errors_name_argument_completion_and_position(offsets, spans, kwargs, error, message):
    with pytest.raises(error, match=message):
        token_candidates(offsets, spans, **kwargs)


# -- real fast tokenizers, trained here on a tiny corpus --------------------------------

CORPUS = [
    "Ideas:\n1. red apples\n2. blue sky over the sea\n3. café ☕ and naïve 日本語",
    "- a quick brown fox\n- jumps over\n- the lazy dog",
    '["alpha beta", "gamma", "delta epsilon"]',
    "one, two, three; four",
] * 25

TEXTS = [
    "Sure:\n1. red apples\n2. blue sky\n3. café ☕ 日本語",
    "1. the lazy dog\n2.\n3. naïve fox",  # candidate 1 is empty
    "Here:\n1. sea\n   over the sky\n\nThat is all.",
]


def _bpe():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=400, special_tokens=["[PAD]", "[UNK]"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


def _wordpiece():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(CORPUS, trainers.WordPieceTrainer(vocab_size=300, special_tokens=["[PAD]", "[UNK]"]))
    return tok


@pytest.fixture(scope="module", params=["bpe", "wordpiece"])
def fast_tokenizer(request):
    pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    tok = _bpe() if request.param == "bpe" else _wordpiece()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]")


@pytest.mark.parametrize("side", ["left", "right"])
def test_real_tokenizer_offsets_with_padding(fast_tokenizer, side):
    fast_tokenizer.padding_side = side
    enc = fast_tokenizer(TEXTS, return_offsets_mapping=True, padding=True, return_tensors="np")
    offsets, attention = enc["offset_mapping"], enc["attention_mask"].astype(bool)
    spans = candidate_spans(TEXTS)
    assert [len(s) for s in spans] == [3, 3, 1]
    assert spans[1][1][0] == spans[1][1][1]  # the empty item
    ids = token_candidates(offsets, spans)
    assert ids.tolist() == reference_ids(offsets.tolist(), spans)
    assert (ids[~attention] == -1).all()  # padding sits at (0, 0) on either side
    assert not (ids[1] == 1).any()
    for i, text in enumerate(TEXTS):
        for (a, b), c in zip(offsets[i][attention[i]], ids[i][attention[i]]):
            piece = text[a:b]
            if c >= 0:
                s, e = spans[i][c]
                assert min(b, e) - max(a, s) > 0
            elif piece.strip():  # a token of no candidate is markup or prose
                assert not any(min(b, e) > max(a, s) for s, e in spans[i])
    # The same tokens map to the same candidates whatever side the padding is on.
    rows = [ids[i][attention[i]].tolist() for i in range(len(TEXTS))]
    fast_tokenizer.padding_side = "left" if side == "right" else "right"
    enc2 = fast_tokenizer(TEXTS, return_offsets_mapping=True, padding=True, return_tensors="np")
    ids2 = token_candidates(enc2["offset_mapping"], spans)
    assert rows == [ids2[i][enc2["attention_mask"][i].astype(bool)].tolist() for i in range(len(TEXTS))]


def test_real_tokenizer_straddling_tokens_go_to_the_larger_share(fast_tokenizer):
    text = "alphabeta gamma"
    enc = fast_tokenizer([text], return_offsets_mapping=True)
    offsets = enc["offset_mapping"]
    # Cut every multi-character token in the middle: spans alternate at each token's midpoint.
    cuts = sorted({(a + b) // 2 for a, b in offsets[0] if b - a >= 2} | {0, len(text)})
    spans = [[(cuts[j], cuts[j + 1]) for j in range(len(cuts) - 1)]]
    ids = token_candidates(offsets, spans)
    assert ids.tolist() == reference_ids(offsets, spans)
    assert any(b - a >= 2 for a, b in offsets[0])


def test_real_tokenizer_ids_feed_token_advantages_and_the_verl_encoding(fast_tokenizer):
    fast_tokenizer.padding_side = "right"
    enc = fast_tokenizer(TEXTS, return_offsets_mapping=True, padding=True, return_tensors="np")
    spans = candidate_spans(TEXTS)
    ids = token_candidates(enc["offset_mapping"], spans)
    k = max(len(s) for s in spans)
    present = np.array([[j < len(s) for j in range(k)] for s in spans])
    cand = np.arange(len(TEXTS) * k, dtype=float).reshape(len(TEXTS), k)
    tok = ss.grpo.token_advantages(cand, np.full(len(TEXTS), -1.0), ids, enc["attention_mask"], candidate_mask=present)
    assert np.array_equal(tok[ids >= 0], cand[np.nonzero(ids >= 0)[0], ids[ids >= 0]])


# -- candidate_spans --------------------------------------------------------------------

def _texts(text, spans):
    return [text[s:e] for s, e in spans]


def test_numbered_and_bulleted_lists():
    text = "Plan:\n 1. red\n2) blue  \n   sky\n(3) green\n\nBye.\n4.\n5. x"
    (spans,) = candidate_spans([text])
    assert _texts(text, spans) == ["red", "blue  \n   sky", "green", "", "x"]
    text = "- a\n* b\n  more\n+ c\n\u2022 d\n-not a bullet\n\n- e"
    assert _texts(text, candidate_spans([text], style="bulleted")[0]) == ["a", "b\n  more", "c", "d\n-not a bullet", "e"]
    assert candidate_spans(["3.14 is not an item", ""]) == [[], []]


def test_lines_and_separator():
    text = "  a b \n\n c\r\n"
    assert _texts(text, candidate_spans([text], style="lines")[0]) == ["a b", "c"]
    text = " x ,, y ,"
    spans = candidate_spans([text, "   ", "solo"], style="separator", separator=",")
    assert [_texts(t, s) for t, s in zip([text, "   ", "solo"], spans)] == [["x", "", "y", ""], [], ["solo"]]
    assert spans[0][1] == (4, 4)


def test_json_arrays():
    text = 'Answer: [1, 2] then ```json\n["a \\"q\\"", "caf\\u00e9", "日本"]\n``` done'
    (spans,) = candidate_spans([text], style="json")
    assert _texts(text, spans) == ['a \\"q\\"', "caf\\u00e9", "日本"]
    assert candidate_spans(["[broken", "[]", '["x", 3]'], style="json") == [[], [], []]


def test_regex_matches_findall():
    texts = ["a1 b22 c333", "none", "k=v; k2=; k3=w"]
    for pat in [r"\d+", r"(\w)\d", r"k\d?=(\w*)", re.compile(r"(?:x(\d))?[a-z]")]:
        spans = candidate_spans(texts, style="regex", pattern=pat)
        for text, sp in zip(texts, spans):
            assert _texts(text, sp) == [m if isinstance(m, str) else m for m in re.findall(pat, text)]


@pytest.mark.parametrize(
    "texts, kwargs, error, message",
    [
        ("1. a", {}, TypeError, "texts must be a sequence of strings"),
        (["ok", 3], {}, TypeError, r"texts\[1\] must be a string"),
        (["a"], {"style": "csv"}, ValueError, "style must be one of"),
        (["a"], {"style": "separator"}, ValueError, "needs a non-empty separator"),
        (["a"], {"style": "separator", "separator": ""}, ValueError, "needs a non-empty separator"),
        (["a"], {"separator": ","}, ValueError, "separator applies to style='separator' only"),
        (["a"], {"style": "regex"}, ValueError, "needs a pattern"),
        (["a"], {"style": "regex", "pattern": re.compile(b"a")}, TypeError, "pattern must be a str"),
        (["a"], {"pattern": "a"}, ValueError, "pattern applies to style='regex' only"),
        (["a"], {"style": "regex", "pattern": "(a"}, ValueError, r"pattern '\(a' is not a valid regular expression"),
        # an empty match at every position the pattern does not cover: re.findall("\\d*", "ab") == ["", "", ""]
        (["a1"], {"style": "regex", "pattern": r"\d*"}, ValueError, r"pattern '\\\\d\*' matches the empty string"),
        (["a1"], {"style": "regex", "pattern": re.compile(r"(\d?)")}, ValueError, "matches the empty string"),
    ],
)
def test_candidate_spans_errors(texts, kwargs, error, message):
    with pytest.raises(error, match=message):
        candidate_spans(texts, **kwargs)


def test_response_mask_follows_the_mask_rule():
    offsets = np.array([[[0, 2], [2, 4]]])
    # named by response and token (it said "set (0,), candidate 1")
    with pytest.raises(ValueError, match=r"response_mask must be boolean or hold only 0 and 1 \(True/1 = a "
                                         r"response token\); found 0.5 at response 0, token 1$"):
        token_candidates(offsets, [[(0, 4)]], response_mask=np.array([[1.0, 0.5]]))
    np.testing.assert_array_equal(
        token_candidates(offsets, [[(0, 4)]], response_mask=np.array([[1, 0]])), [[0, -1]])
