"""Offline, rule-based quote extraction and speaker attribution: who said what, with offsets into the article.

`find_attributions` finds every cue (a verb of saying, writing or believing, or "according to"), its speaker (the
subject before it, the inverted subject after it, the subject of its clause for "..., saying ..." or of the verb
governing it for "went on to say") and its content (the quotation next to it, or the clause after or before it; see
`attribution` and `content`), then attributes quotations that have no cue of their own (a continuation of the previous
speaker, a dash attribution, a "he said" in the next sentence, or the subject or person the text around it names; see
`orphans` and `fallback`). Speaker mentions are resolved to the people and organisations the article introduced (see
`speakers`). Deterministic; regexes compiled once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.brief.attribution import ArticleState
from bot.brief.orphans import attribute_orphans
from bot.brief.quotemarks import verify_quote
from bot.brief.sentences import Sentence
from bot.brief.speakers import Speaker
from bot.models import Quote

__all__ = ["Attribution", "extract_quotes", "find_attributions", "verify_quote"]

# How far back (in sentences) a pronoun "they" or "it" may find an earlier group or organisation speaker.
_GROUP_LOOKBACK = 3
_PRONOUNS = frozenset("they it he she i we".split())


@dataclass(frozen=True, slots=True)
class Attribution:
    """One attribution with the span of the speaker mention nearest the quote and of the cue."""

    speaker: str
    speaker_role: str | None
    text: str
    kind: Literal["direct", "indirect"]
    cue: str | None
    start: int
    end: int
    verified: bool
    speaker_start: int
    speaker_end: int
    cue_start: int | None = None
    cue_end: int | None = None

    def to_quote(self) -> Quote:
        """The `Quote` of the briefing model."""
        return Quote(
            speaker=self.speaker,
            speaker_role=self.speaker_role,
            text=self.text,
            kind=self.kind,
            cue=self.cue,
            start=self.start,
            end=self.end,
            verified=self.verified,
        )


def extract_quotes(text: str, sentences: list[Sentence] | None = None) -> list[Quote]:
    """The quotes and attributed statements of an article, in article order."""
    return [a.to_quote() for a in find_attributions(text, sentences)]


def find_attributions(text: str, sentences: list[Sentence] | None = None) -> list[Attribution]:
    """Every attribution of `text` (direct and indirect) in article order, offsets indexing `text` as given.

    `sentences` may pass the result of `split_sentences(text)` when the caller already has it (saves ~1 ms)."""
    if not text.strip():
        return []
    state = ArticleState(text, sentences)
    state.find_frames()
    attribute_orphans(state)
    return _emit(state)


def _emit(state: ArticleState) -> list[Attribution]:
    out: list[Attribution] = []
    seen: set[tuple[int, int]] = set()
    last_group: tuple[int, Speaker] | None = None
    for frame, start, end, kind in sorted(state.results, key=lambda r: (r[1], r[2])):
        if (start, end) in seen or end <= start:
            continue
        seen.add((start, end))
        if frame.speaker is None:
            frame.speaker = state.index.resolve(frame.sp_start, frame.sp_end, (start, end))
            if frame.speaker.entity is not None:
                state.index.add_mention(frame.sp_start, frame.sp_end, frame.speaker.entity)
        speaker = frame.speaker
        mention = state.text[frame.sp_start : frame.sp_end].lower()
        if mention in {"they", "it"} and last_group and state.sentence_of(start) - last_group[0] <= _GROUP_LOOKBACK:
            speaker = last_group[1]
        elif (speaker.entity is None or speaker.entity.kind == "org") and mention not in _PRONOUNS:
            last_group = (state.sentence_of(start), speaker)
        quote_text = state.text[start:end]
        out.append(
            Attribution(
                speaker=speaker.name,
                speaker_role=speaker.role,
                text=quote_text,
                kind=kind,  # type: ignore[arg-type]
                cue=frame.cue or None,
                start=start,
                end=end,
                # An extracted span is verbatim by construction (verify_quote(text, quote_text) holds).
                verified=kind == "direct",
                speaker_start=frame.sp_start,
                speaker_end=frame.sp_end,
                cue_start=frame.cue_start if frame.cue else None,
                cue_end=frame.cue_end if frame.cue else None,
            )
        )
    return out
