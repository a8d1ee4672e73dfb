"""URLs as users paste them: normalization, a stable hash for storage, and extraction from chat messages.

Slack escapes `&`, `<` and `>` in message text and wraps links as `<url|label>`; Discord users write `<url>` to
suppress the embed. Normalization makes the forms of one link (tracking parameters, case, default port, fragment)
map to one key, so a link pasted by twenty people is fetched and stored once (reliability.md, sections 1 and 5).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from bot.errors import SourceError

__all__ = ["find_urls", "normalize_url", "unwrap_slack_link", "url_hash"]

_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only identify a campaign or a click; they never select content.
_TRACKING_PREFIXES = ("utm_",)
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "mkt_tok",
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "ref_src",
        "ref_url",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "vero_conv",
        "_openstat",
        "wickedid",
        "srsltid",
    }
)

# Characters left alone when re-quoting; everything else (spaces, non-ASCII) is percent-encoded. `%` is kept so
# existing escapes are not double-encoded.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_HOST_CHARS = re.compile(r"^[a-z0-9_.-]+$")

# A Slack/Discord `<url>` or `<url|label>` (the label may be anything, including another URL), or a bare URL.
_LINK = re.compile(
    r"<(?P<angle>https?://[^\s<>|]+)(?:\|[^<>]*)?>|(?P<bare>https?://[^\s<>\"`]+)",
    re.IGNORECASE,
)
_TRAILING_PUNCTUATION = ".,;:!?'\"*"
_BRACKETS = {")": "(", "]": "[", "}": "{"}


def _unescape_slack(text: str) -> str:
    """Undo Slack's three escapes. `&amp;` goes last so `&amp;lt;` becomes `&lt;`, not `<`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def unwrap_slack_link(text: str) -> str:
    """The target of a Slack link `<https://a.example/?x=1&amp;y=2|label>`, unescaped; never the label.

    Also accepts `<url>` (Discord's suppressed embed) and plain text, which is returned stripped and unescaped.
    """
    stripped = text.strip()
    if stripped.startswith("<") and stripped.endswith(">"):
        stripped = stripped[1:-1].split("|", 1)[0]
    return _unescape_slack(stripped).strip()


def _split_netloc(netloc: str) -> tuple[str, int | None]:
    """Host and explicit port of a netloc without user info; the host lower-cased, IDNA-encoded, IPv6 bracketed."""
    if netloc.startswith("["):
        end = netloc.find("]")
        rest = netloc[end + 1 :] if end != -1 else "?"
        if end == -1 or (rest and not rest.startswith(":")):
            raise SourceError("That link's address is not valid.")
        try:
            address = ipaddress.IPv6Address(netloc[1:end])
        except ValueError:
            raise SourceError("That link's address is not valid.") from None
        if address.scope_id:
            raise SourceError("That link's address is not valid.")
        host, port_text = f"[{address.compressed}]", rest[1:]
    else:
        host, _, port_text = netloc.partition(":")
        if ":" in port_text:
            raise SourceError("That link's address is not valid.")
        host = host.lower().rstrip(".")
        if not host.isascii():
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                raise SourceError("That link's site name is not valid.") from None
        if not _HOST_CHARS.match(host) or ".." in host or host.startswith("."):
            raise SourceError("That link's site name is not valid.")
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SourceError("That link's port number is not valid.")
    return host, int(port_text)


def _is_tracking(pair: str) -> bool:
    name = unquote_plus(pair.split("=", 1)[0]).strip().lower()
    return name.startswith(_TRACKING_PREFIXES) or name in _TRACKING_PARAMS


def normalize_url(raw: str) -> str:
    """The canonical form of an http(s) URL, used for de-duplication, caching and storage.

    Strips whitespace, angle brackets and Slack escapes; lower-cases scheme and host (IDNA-encoding Unicode hosts);
    drops the default port, the fragment and tracking parameters (others keep their order); percent-encodes spaces
    and non-ASCII characters. Raises `SourceError` for anything that is not an http(s) URL, and for URLs that carry a
    user name or password.
    """
    text = unwrap_slack_link(raw)
    if not text:
        raise SourceError("That is not a link.")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        raise SourceError("That link contains control characters.")
    try:
        parts = urlsplit(text)
    except ValueError:
        raise SourceError("That link is not a valid web address.") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise SourceError("briefbot reads web links (http:// or https://); that is not one.")
    if "@" in parts.netloc:
        raise SourceError("Links containing a user name or password are not supported.")
    if not parts.netloc:
        raise SourceError("That link has no site name.")
    host, port = _split_netloc(parts.netloc)
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = quote(parts.path, safe=_PATH_SAFE) or "/"
    kept = [pair for pair in parts.query.split("&") if pair and not _is_tracking(pair)]
    query = "&".join(quote(pair, safe=_QUERY_SAFE) for pair in kept)
    return urlunsplit((scheme, netloc, path, query, ""))


def url_hash(url: str) -> str:
    """SHA-256 (hex) of the normalized URL: a fixed-size database key however long the URL is (the store's
    `normalized_url_hash` of `normalize_url(url)`)."""
    return hashlib.sha256(normalize_url(url).encode("utf-8")).hexdigest()


def _trim_bare_url(url: str) -> str:
    """Drop what chat prose glues to the end of a bare URL: sentence punctuation and an unbalanced closing bracket."""
    # Escaped `&lt;`/`&gt;` in Slack text were angle brackets, which cannot be part of a URL.
    url = re.split(r"[<>]", _unescape_slack(url), maxsplit=1)[0]
    while url:
        last = url[-1]
        unbalanced = last in _BRACKETS and url.count(_BRACKETS[last]) < url.count(last)
        if last not in _TRAILING_PUNCTUATION and not unbalanced:
            break
        url = url[:-1]
    return url


def find_urls(text: str) -> list[str]:
    """The http(s) URLs in a chat message, in order of appearance, without duplicates.

    Understands Slack's `<url|label>` and `<url>` forms (the target is used, never the label) and Discord's `<url>`;
    trims trailing punctuation and unbalanced closing brackets from bare URLs. URLs are returned as written (Slack
    escapes undone); two URLs count as duplicates when they normalize to the same form. Invalid ones are skipped.
    """
    found: list[str] = []
    seen: set[str] = set()
    for match in _LINK.finditer(text):
        angle = match.group("angle")
        candidate = _unescape_slack(angle) if angle else _trim_bare_url(match.group("bare"))
        try:
            key = normalize_url(candidate)
        except SourceError:
            continue
        if key not in seen:
            seen.add(key)
            found.append(candidate)
    return found
