"""Language tags: ISO 639-2 (as in media files) to BCP 47 (as in manifests), native names."""

from __future__ import annotations

import re


class UnknownLanguage(ValueError):
    """A language tag this platform cannot name."""


# (BCP 47 primary subtag, ISO 639-2/T, ISO 639-2/B, native name)
_LANGUAGES: tuple[tuple[str, str, str, str], ...] = (
    ("fr", "fra", "fre", "Français"),
    ("en", "eng", "eng", "English"),
    ("de", "deu", "ger", "Deutsch"),
    ("es", "spa", "spa", "Español"),
    ("it", "ita", "ita", "Italiano"),
    ("pt", "por", "por", "Português"),
    ("nl", "nld", "dut", "Nederlands"),
    ("ar", "ara", "ara", "العربية"),
    ("ja", "jpn", "jpn", "日本語"),
    ("ko", "kor", "kor", "한국어"),
    ("zh", "zho", "chi", "中文"),
    ("ru", "rus", "rus", "Русский"),
    ("pl", "pol", "pol", "Polski"),
    ("sv", "swe", "swe", "Svenska"),
    ("da", "dan", "dan", "Dansk"),
    ("fi", "fin", "fin", "Suomi"),
    ("no", "nor", "nor", "Norsk"),
    ("tr", "tur", "tur", "Türkçe"),
    ("he", "heb", "heb", "עברית"),
    ("hi", "hin", "hin", "हिन्दी"),
    ("br", "bre", "bre", "Brezhoneg"),
    ("ca", "cat", "cat", "Català"),
    ("eu", "eus", "baq", "Euskara"),
    ("oc", "oci", "oci", "Occitan"),
    ("co", "cos", "cos", "Corsu"),
)
_BY_TAG: dict[str, tuple[str, str]] = {}
for _bcp, _t, _b, _name in _LANGUAGES:
    for _tag in (_bcp, _t, _b):
        _BY_TAG[_tag] = (_bcp, _name)

_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


def to_bcp47(tag: str) -> str:
    """``fra``, ``fre``, ``fr``, ``fr-FR`` → ``fr`` / ``fr-FR``: the tag a manifest carries."""
    tag = tag.strip().replace("_", "-")
    if not _TAG.match(tag):
        raise UnknownLanguage(f"not a language tag: {tag!r}")
    primary, _, rest = tag.partition("-")
    known = _BY_TAG.get(primary.lower())
    if known is None:
        raise UnknownLanguage(f"unknown language {tag!r}")
    return known[0] + (f"-{rest.upper() if len(rest) == 2 else rest}" if rest else "")


def native_name(tag: str) -> str:
    """The language's name in itself: ``fr`` → ``Français``."""
    return _BY_TAG[to_bcp47(tag).split("-")[0]][1]


def to_iso639_2(tag: str) -> str:
    """The three-letter (terminological) code, as stored in MP4 ``mdhd`` boxes."""
    primary = to_bcp47(tag).split("-")[0]
    return next(t for bcp, t, _b, _n in _LANGUAGES if bcp == primary)
