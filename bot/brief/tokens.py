"""Token counting, budgets and chunking for the LLM engine: tiktoken if its encoding loads, else a documented estimate.

tiktoken downloads its BPE files on first use (with no timeout) and caches them in `TIKTOKEN_CACHE_DIR` (default:
`<tempdir>/data-gym-cache`). Many servers briefbot runs on have no network, so loading is careful:

1. Map the model to an encoding with tiktoken's own table; a model tiktoken does not know (a Llama or Mistral served by
   Ollama or vLLM) is counted with `o200k_base`, which is only an approximation, so the count is marked as an estimate.
2. If the encoding's file is not in the cache (checked on disk, hash included) and downloads are off, do not call
   tiktoken at all: it would try the network.
3. Otherwise load it on a daemon thread and wait at most `timeout` seconds: a stalled download cannot hang a briefing.
4. Whatever fails, count with the estimate below; the reason is kept in `TokenCounter.note`, which the engine copies
   into `Usage.token_estimate`. Results (successes and failures) are memoised per process: one attempt per encoding.

The estimate is `ceil(ascii_chars / 3.5) + non_ascii_chars`, biased upward on purpose: English prose runs about 4 to
4.5 characters per token, so ASCII text is over-counted by 15-25%; each non-ASCII code point counts as a whole token
(about right for CJK, generous for accented Latin and Cyrillic). Over-counting only makes chunks smaller; it never
overflows the context window.
"""

from __future__ import annotations

import hashlib
import math
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.brief.sentences import paragraph_spans, split_sentences
from bot.models import Span

__all__ = [
    "MESSAGE_OVERHEAD_TOKENS",
    "Budget",
    "TokenCounter",
    "cached_encoding_available",
    "chunk_spans",
    "estimate_tokens",
    "load_counter",
]

# tiktoken's own BPE files (name -> URL, SHA-256), used only to check the on-disk cache without touching the network.
_BPE_FILES = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "p50k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/p50k_base.tiktoken",
        "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
    ),
    "r50k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken",
        "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
    ),
}
_BPE_FILES["o200k_harmony"] = _BPE_FILES["o200k_base"]
_BPE_FILES["p50k_edit"] = _BPE_FILES["p50k_base"]
DEFAULT_ENCODING = "o200k_base"
DEFAULT_LOAD_TIMEOUT = 3.0
# Chat formatting costs a few tokens per message on top of its content (role markers, separators).
MESSAGE_OVERHEAD_TOKENS = 4

_ASCII = re.compile(r"[\x00-\x7f]")


def estimate_tokens(text: str) -> int:
    """The offline estimate described in the module docstring (never less than the true count for typical text)."""
    if not text:
        return 0
    ascii_chars = len(_ASCII.findall(text))
    return math.ceil(ascii_chars / 3.5) + (len(text) - ascii_chars)


@dataclass(frozen=True)
class TokenCounter:
    """Counts tokens for one model. `exact` is False when counts are estimates; `note` then says why."""

    model: str
    encoding_name: str | None
    exact: bool
    note: str | None
    _encoding: Any = None

    def count(self, text: str) -> int:
        """Tokens in `text` (special-token strings inside article text are counted as plain text, never refused)."""
        if self._encoding is None:
            return estimate_tokens(text)
        return len(self._encoding.encode(text, disallowed_special=()))

    def count_messages(self, messages: list[dict[str, str]]) -> int:
        """Prompt tokens of a chat request: contents plus a small per-message overhead."""
        return sum(self.count(m.get("content") or "") + MESSAGE_OVERHEAD_TOKENS for m in messages) + 3

    @property
    def estimate_note(self) -> str | None:
        """The text for `Usage.token_estimate`, or None when tokens are counted exactly."""
        return None if self.exact else f"estimated: {self.note}"


def encoding_for_model(model: str) -> tuple[str, bool]:
    """tiktoken's encoding name for `model`, and whether tiktoken actually knows the model (else an approximation)."""
    import tiktoken

    try:
        return tiktoken.encoding_name_for_model(model), True
    except KeyError:
        return DEFAULT_ENCODING, False


def default_cache_dir() -> Path:
    """tiktoken's cache directory when TIKTOKEN_CACHE_DIR is not set."""
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def cached_encoding_available(encoding_name: str, cache_dir: Path | None) -> bool:
    """True if the encoding's BPE file is in the tiktoken cache with the right hash (so loading needs no network)."""
    entry = _BPE_FILES.get(encoding_name)
    if entry is None:
        return False
    url, sha256 = entry
    path = (cache_dir or default_cache_dir()) / hashlib.sha1(
        url.encode(), usedforsecurity=False
    ).hexdigest()  # tiktoken's cache key
    try:
        data = path.read_bytes()
    except OSError:
        return False
    return hashlib.sha256(data).hexdigest() == sha256


_memo: dict[tuple[str, bool], tuple[Any, str | None]] = {}
_memo_lock = threading.Lock()


def _tiktoken_loader(name: str) -> Any:
    import tiktoken

    return tiktoken.get_encoding(name)


def _load_bounded(loader: Callable[[str], Any], name: str, timeout: float) -> tuple[Any, str | None]:
    """Run `loader(name)` on a daemon thread (a hung download must not block exit); give up after `timeout`."""
    result: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            result["encoding"] = loader(name)
        except Exception as exc:  # any failure means "estimate instead"; the reason is reported, not raised
            result["error"] = f"{type(exc).__name__}: {exc}"[:160]
        finally:
            done.set()

    threading.Thread(target=run, name=f"tiktoken-load-{name}", daemon=True).start()
    if not done.wait(timeout):
        return None, f"loading {name} took longer than {timeout:g} s"
    if "encoding" in result:
        return result["encoding"], None
    return None, f"loading {name} failed ({result.get('error')})"


def load_counter(
    model: str,
    *,
    cache_dir: Path | None = None,
    download: bool = False,
    timeout: float = DEFAULT_LOAD_TIMEOUT,
    loader: Callable[[str], Any] | None = None,
) -> TokenCounter:
    """A TokenCounter for `model`, never blocking longer than `timeout` and never touching the network unless
    `download` is set. `cache_dir` must be where tiktoken looks (its TIKTOKEN_CACHE_DIR); `loader` replaces
    `tiktoken.get_encoding` (for tests and custom tokenizers)."""
    name, known = encoding_for_model(model)
    key = (name, download, str(cache_dir))
    with _memo_lock:
        memo = _memo.get(key) if loader is None else None
    if memo is None:
        if loader is None and not download and not cached_encoding_available(name, cache_dir):
            memo = (None, f"tiktoken encoding unavailable ({name} is not in the tiktoken cache; downloads are off)")
        else:
            encoding, problem = _load_bounded(loader or _tiktoken_loader, name, timeout)
            memo = (encoding, None if encoding is not None else f"tiktoken encoding unavailable ({problem})")
        if loader is None:
            with _memo_lock:
                _memo[key] = memo
    encoding, problem = memo
    if encoding is None:
        return TokenCounter(model, name, exact=False, note=problem)
    if not known:
        note = f"tiktoken has no encoding for model {model!r}; counted with {name}"
        return TokenCounter(model, name, exact=False, note=note, _encoding=encoding)
    return TokenCounter(model, name, exact=True, note=None, _encoding=encoding)


@dataclass(frozen=True)
class Budget:
    """How many tokens one request may carry: `input` for the whole prompt, `output` for the completion, out of a
    `context` window."""

    input: int
    output: int
    context: int

    @classmethod
    def for_model(cls, context_tokens: int, max_output_tokens: int, max_input_tokens: int | None = None) -> Budget:
        """The input budget is the context window minus the output allowance and a safety margin (5% + 64 tokens,
        for chat formatting and counting differences), optionally capped by `max_input_tokens`."""
        usable = context_tokens - max_output_tokens - (context_tokens // 20) - 64
        if max_input_tokens:
            usable = min(usable, max_input_tokens)
        if usable < 1024:
            raise ValueError(
                f"llm_context_tokens={context_tokens} leaves only {usable} input tokens after "
                f"{max_output_tokens} output tokens; raise the context size or lower the output allowance"
            )
        return cls(input=usable, output=max_output_tokens, context=context_tokens)


def chunk_spans(text: str, counter: TokenCounter, limit: int) -> list[Span]:
    """Split `text` into consecutive spans of at most about `limit` tokens each, covering all of it.

    Cuts fall between paragraphs; a paragraph longer than `limit` is cut between sentences, and a sentence longer than
    `limit` between words. Chunks are balanced (a 2.1-chunk text becomes three similar parts, not two full ones and a
    scrap), so each part gets comparable attention from the model.
    """
    pieces: list[tuple[Span, int]] = []
    for start, end in paragraph_spans(text):
        pieces.extend(_fit(text, start, end, counter, limit))
    if not pieces:
        return []
    total = sum(tokens for _, tokens in pieces)
    target = min(limit, math.ceil(total / math.ceil(total / limit) * 1.05))
    chunks: list[Span] = []
    start, end, used = pieces[0][0][0], pieces[0][0][1], 0
    for (p_start, p_end), tokens in pieces:
        if used and used + tokens > target:
            chunks.append((start, end))
            start, used = p_start, 0
        end, used = p_end, used + tokens + 1
    chunks.append((start, end))
    return chunks


def _fit(text: str, start: int, end: int, counter: TokenCounter, limit: int) -> list[tuple[Span, int]]:
    tokens = counter.count(text[start:end])
    if tokens <= limit:
        return [((start, end), tokens)]
    sentences = [(start + s.start, start + s.end) for s in split_sentences(text[start:end])]
    if len(sentences) > 1:
        return [piece for s, e in sentences for piece in _fit(text, s, e, counter, limit)]
    # One enormous sentence: cut between words, sized by this span's own token density.
    words = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]
    per_piece = max(1, int(len(words) * limit / tokens * 0.9))
    out = []
    for i in range(0, len(words), per_piece):
        s, e = words[i][0], words[min(i + per_piece, len(words)) - 1][1]
        out.append(((s, e), counter.count(text[s:e])))
    return out
