"""The task's words and a byte-level BPE tokenizer trained on them, locally.

Item names are pronounceable made-up words (``"kabo"``, ``"tumizeli"``), so
that no pretrained vocabulary knows them; the tokenizer is trained on the
task's own texts with the ``tokenizers`` library and splits most names into
two or three tokens, which is why candidates must be found from character
offsets rather than one token per item.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SEPARATOR", "PAD", "EOS", "item_names", "build_tokenizer", "token_texts"]

SEPARATOR = ", "
PAD, EOS = "<pad>", "<eos>"
_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"


def item_names(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct made-up item names of two or three syllables, seeded.

    Args:
        n: how many names (at most a few thousand).
        seed: seed of ``np.random.default_rng``.

    Returns:
        a list of ``n`` distinct lowercase names, in the order drawn.

    Raises:
        ValueError: ``n`` < 1 or larger than the names available.

    Examples:
        >>> names = item_names(5, seed=1)
        >>> len(set(names)), all(name.isalpha() for name in names)
        (5, True)
    """
    syllables = [c + v for c in _CONSONANTS for v in _VOWELS]
    available = len(syllables) ** 2 + len(syllables) ** 3
    if not 1 <= n <= available // 2:
        raise ValueError(f"n must be between 1 and {available // 2}, got {n}")
    rng = np.random.default_rng(seed)
    names: dict[str, None] = {}
    while len(names) < n:
        length = int(rng.integers(2, 4))
        names.setdefault("".join(rng.choice(syllables, length)), None)
    return list(names)


def build_tokenizer(texts, vocab_size: int):
    """A fast tokenizer (``PreTrainedTokenizerFast``) trained on ``texts``.

    Byte-level BPE, so every string is encodable and decoding a sequence is
    the concatenation of its tokens' texts; special tokens ``<pad>`` (id 0)
    and ``<eos>`` (id 1); no download, no hub access.

    Args:
        texts: the training corpus (the task's prompts and completions).
        vocab_size: the BPE vocabulary size (merges stop there).

    Returns:
        a ``transformers.PreTrainedTokenizerFast`` with left padding.

    Examples:
        >>> tok = build_tokenizer(["kabo, tumi", "user likes: jazz"], vocab_size=60)
        >>> tok.decode(tok("kabo, tumi")["input_ids"])
        'kabo, tumi'
        >>> tok.pad_token_id, tok.eos_token_id
        (0, 1)
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD, EOS], show_progress=False)
    tok.train_from_iterator(list(texts), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token=PAD, eos_token=EOS, padding_side="left",
        clean_up_tokenization_spaces=False,
    )


def token_texts(tokenizer) -> list[str]:
    """The text each token id decodes to ('' for special tokens), by id.

    For a byte-level tokenizer over ASCII texts, decoding a sequence is the
    concatenation of these, so a generated sequence's character offsets are
    their cumulative lengths.

    Examples:
        >>> tok = build_tokenizer(["kabo, tumi"], vocab_size=40)
        >>> texts = token_texts(tok)
        >>> texts[0], texts[1], "".join(texts[i] for i in tok("kabo, tumi")["input_ids"])
        ('', '', 'kabo, tumi')
    """
    special = set(tokenizer.all_special_ids)
    return ["" if i in special else tokenizer.decode([i]) for i in range(len(tokenizer))]
