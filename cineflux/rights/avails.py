"""MovieLabs/EMA Avails (XML, v2.2 to v2.7): reading avails into windows, writing them back.

Pure: bytes in, dataclasses out (and back), no database. ``parse_avails`` checks a whole
document before anything is applied and raises ``AvailsInvalid`` with every problem found,
each with its line; ``avails_flows`` applies a valid document in one transaction.

Two checks run. The MovieLabs XSD of the document's version, when a schema directory is
configured (the schemas are MovieLabs' files and do not ship with Cineflux). And always our
own structural and semantic check, which is what the rest of the platform relies on.

How avails map to the domain:

- An Avail's Asset is a title, identified by its ``contentID`` (identifier scheme
  ``avails-content-id``) and its EIDR when given (scheme ``eidr``, the edit's ID before the
  title's). Movie and Short are films; Series, Season and Episode build the series → season →
  episode tree from ``SeriesContentID`` and ``SeasonContentID``. Other work types
  (Collection, Supplemental, Promotion...) and Avails of several Assets are skipped with a
  warning: the catalogue has nothing to offer them as.
- A Transaction is a window per territory, keyed by (licensor display name, key). The key
  is the ``TransactionID``, suffixed ``/CC`` when the transaction lists several countries;
  without a ``TransactionID`` it is derived from the ALID, territory, licence type, start
  and format (the format too, since SD and HD offers otherwise share all four).
- Licence types: SVOD, TVOD, EST, AVOD and FVOD as they are; EMA's ``VOD`` is transactional
  rental, so TVOD. POEST (pre-orders), Pre-Release and Library grant no playback we can
  model: those transactions are skipped with a warning. Anything else is an error.
- Formats: SD, HD, UHD. The 3D profiles grant no 2D rights: skipped with a warning.
- Languages: ``AllowedLanguage`` is the contractual restriction; its ``asset`` attribute
  (``audio``, ``subtitle``, ``subdub`` or absent for both) says which list it restricts, and
  no AllowedLanguage at all means no restriction. ``AssetLanguage`` only announces what the
  licensor means to deliver (EMA calls it not contractual), so it is checked but restricts
  nothing. ``HoldbackLanguage`` is removed from the allowed list it applies to.
- Holdbacks: EMA has no term for a holdback span inside a transaction, so none are created.
- Times without a zone are local to the territory, in its first time zone (the one where
  that local time comes first), as platforms read the EMA spec; ``Z`` or an offset is kept.
  A date alone (which the XSD refuses, but spreadsheets produce) means 00:00 that day.
  ``EndCondition`` Open is an open end; other conditions, and ``StartCondition``, are
  errors: the window would start or end on an event Cineflux does not know.
- Dispositions are applied by ``avails_flows`` (see ``apply_document`` there).
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree  # type: ignore[import-untyped]

from cineflux.catalog.service import InvalidTitle, validate_title
from cineflux.rights.service import InvalidWindow, WindowSpec, validate_window
from cineflux.rights.territory import (
    UnknownTerritoryCode,
    iso_country_codes,
    normalise_territory,
)

CONTENT_ID_SCHEME = "avails-content-id"
EIDR_SCHEME = "eidr"
# A title that no avails named gets this content ID on export, and is found by it again.
CINEFLUX_CONTENT_ID_PREFIX = "md:cid:org:cineflux.org:"

SUPPORTED_VERSIONS = ((2, 2), (2, 3), (2, 4), (2, 5), (2, 6), (2, 7))
EXPORT_VERSION = "2.7"
EXPORT_NAMESPACE = f"http://www.movielabs.com/schema/avails/v{EXPORT_VERSION}/avails"
EXPORT_MD_NAMESPACE = "http://www.movielabs.com/schema/md/v2.12/md"

_AVAILS_NAMESPACE = re.compile(
    r"^http://www\.movielabs\.com/schema/avails/v(\d+)\.(\d+)((?:\.\d+)*)/avails$"
)
_MD_NAMESPACE = re.compile(r"^http://www\.movielabs\.com/schema/md/v[\d.]+/md$")
_SCHEMA_NAMES = re.compile(r"\{http://www\.movielabs\.com/schema/(avails|md|mdmec)/[^}]*\}")

ENTRY_TYPES = ("Full Extract", "Create", "Update", "Delete", "Full Delete")
LICENSE_TYPES = {"SVOD": "SVOD", "TVOD": "TVOD", "EST": "EST", "AVOD": "AVOD", "FVOD": "FVOD"}
LICENSE_TYPES["VOD"] = "TVOD"  # EMA's VOD is transactional rental
_UNUSABLE_LICENSE_TYPES = {
    "POEST": "pre-orders grant no playback (the EST transaction does)",
    "PRE-RELEASE": "no Cineflux licence type matches it",
    "LIBRARY": "it describes rights, it is no licence type",
}
FORMATS = {"SD": "SD", "HD": "HD", "UHD": "UHD"}
_UNUSABLE_FORMATS = {"3D", "3DSD", "3DHD", "3DUHD"}
WORK_TYPES = {
    "Movie": "movie",
    "Short": "movie",
    "Series": "series",
    "Season": "season",
    "Episode": "episode",
}
_EXPORT_WORK_TYPES = {
    "movie": "Movie",
    "series": "Series",
    "season": "Season",
    "episode": "Episode",
}
_AVAIL_TYPES = {"movie": "single", "series": "series", "season": "season", "episode": "episode"}
_EXPORT_LICENSE_TYPES = {"TVOD": "VOD"}  # back to EMA's vocabulary
_LANGUAGE_ASSETS = {"audio": (True, False), "subtitle": (False, True), "subdub": (True, True)}
_EIDR = re.compile(
    r"^(?:urn:eidr:)?10\.5240[:/]([0-9A-F]{4}(?:-[0-9A-F]{4}){4}-[0-9A-Z])$", re.IGNORECASE
)
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$")
_YEAR = re.compile(r"^(\d{4})(-\d{2}(-\d{2}.*)?)?$")
MAX_KEY = 200  # rights_windows.transaction_id
MAX_LICENSOR = 200
MAX_ALID = 300


@dataclass(frozen=True, order=True)
class AvailsIssue:
    """One problem (or warning) in an avails file, at a line."""

    line: int
    message: str

    def to_json(self) -> dict[str, Any]:
        """For ``--json`` output."""
        return {"line": self.line, "message": self.message}


class AvailsError(Exception):
    """Base of the avails errors."""


class AvailsInvalid(AvailsError):
    """A file that cannot be imported; ``errors`` lists every problem, by line."""

    def __init__(self, file: str, errors: Iterable[AvailsIssue]) -> None:
        self.file = file
        self.errors = sorted(set(errors))
        super().__init__(f"{len(self.errors)} error(s) in {file}")

    def lines(self) -> list[str]:
        """``FILE:LINE: message``, one per error."""
        return [f"{self.file}:{issue.line}: {issue.message}" for issue in self.errors]


class AvailsSchemaUnavailable(AvailsError):
    """XSD validation was asked for, but the schema cannot be found or loaded."""


@dataclass(frozen=True)
class TitleRef:
    """A title as the avails name it: what finds it, and what creates it when it is new."""

    content_id: str
    kind: str
    name: str
    year: int | None = None
    number: int | None = None
    eidr: str | None = None
    aliases: tuple[str, ...] = ()  # other content IDs of the same title
    line: int = 0


@dataclass(frozen=True)
class AvailsAsset:
    """The title an Avail licenses, with its season and series for an episode."""

    title: TitleRef
    season: TitleRef | None = None
    series: TitleRef | None = None

    def lineage(self) -> list[TitleRef]:
        """Series, season, then the title: parents before children."""
        return [ref for ref in (self.series, self.season, self.title) if ref is not None]


@dataclass(frozen=True)
class AvailsWindow:
    """One window a transaction grants: a territory's terms, under its stable key."""

    key: str
    spec: WindowSpec
    line: int = 0


@dataclass(frozen=True)
class AvailsTransaction:
    """A Transaction: its windows (one per territory), or why it is skipped."""

    transaction_id: str | None
    windows: tuple[AvailsWindow, ...]
    skipped: str | None = None
    line: int = 0

    def owns(self, key: str) -> bool:
        """Whether a stored window key belongs to this transaction."""
        if self.transaction_id is None:
            return any(w.key == key for w in self.windows)
        return key == self.transaction_id or key.startswith(f"{self.transaction_id}/")


@dataclass(frozen=True)
class Avail:
    """An Avail: who licenses what, how to apply it, and its transactions."""

    alid: str
    licensor: str
    disposition: str
    asset: AvailsAsset | None
    transactions: tuple[AvailsTransaction, ...]
    skipped: str | None = None
    line: int = 0


@dataclass(frozen=True)
class AvailsDocument:
    """A checked avails file, ready to apply."""

    file: str
    version: str
    avails: tuple[Avail, ...]
    warnings: tuple[AvailsIssue, ...] = ()
    schema_validated: bool = False

    @property
    def transaction_count(self) -> int:
        """Transactions in the file."""
        return sum(len(a.transactions) for a in self.avails)

    @property
    def skipped_count(self) -> int:
        """Transactions that will not become windows (skipped Avails count all theirs)."""
        return sum(
            1
            for avail in self.avails
            for transaction in avail.transactions
            if avail.skipped or transaction.skipped
        )


# --- Reading ---------------------------------------------------------------------------------


def _parser() -> Any:
    # Untrusted input: no entities, no DTD, no network.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def read_avails(path: Path, *, schema_dir: Path | None = None) -> AvailsDocument:
    """Read and check an avails file (see ``parse_avails``)."""
    return parse_avails(path.read_bytes(), file=str(path), schema_dir=schema_dir)


def parse_avails(
    data: bytes, *, file: str = "avails.xml", schema_dir: Path | None = None
) -> AvailsDocument:
    """A checked document, or ``AvailsInvalid`` listing every problem of the file."""
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as error:
        line = error.lineno or 1
        raise AvailsInvalid(
            file, [AvailsIssue(line, f"not well-formed XML: {error.msg}")]
        ) from None
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise AvailsInvalid(file, [AvailsIssue(1, "avails carry no DOCTYPE")])
    root_line = _line(root)
    namespace = etree.QName(root).namespace or ""
    version = avails_version(namespace)
    if version is None:
        raise AvailsInvalid(
            file,
            [AvailsIssue(root_line, f"not a MovieLabs avails document (namespace {namespace!r})")],
        )
    if _version_key(version) not in SUPPORTED_VERSIONS:
        raise AvailsInvalid(
            file,
            [AvailsIssue(root_line, f"unsupported avails version {version} (2.2 to 2.7 are read)")],
        )
    errors: list[AvailsIssue] = []
    if schema_dir is not None:
        errors.extend(schema_issues(tree, version, schema_dir))
    reader = _Reader(namespace)
    localname = etree.QName(root).localname
    if localname == "AvailList":
        elements = reader.kids(root, "Avail")
        if not elements:
            reader.error(root, "an AvailList needs at least one Avail")
    elif localname == "Avail":
        elements = [root]
    else:
        reader.error(root, f"the root element is {localname}, not AvailList")
        elements = []
    avails = [reader.avail(element) for element in elements]
    errors.extend(reader.errors)
    if errors:
        raise AvailsInvalid(file, errors)
    return AvailsDocument(
        file=file,
        version=version,
        avails=tuple(a for a in avails if a is not None),
        warnings=tuple(sorted(reader.warnings)),
        schema_validated=schema_dir is not None,
    )


def avails_version(namespace: str) -> str | None:
    """``2.2.1`` for the avails v2.2.1 namespace; None for any other namespace."""
    match = _AVAILS_NAMESPACE.match(namespace)
    if match is None:
        return None
    return f"{match.group(1)}.{match.group(2)}{match.group(3)}"


def _version_key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def _line(element: Any) -> int:
    return int(element.sourceline or 0)


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


class _Reader:
    """Walks one document, collecting every error and warning instead of stopping."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.errors: list[AvailsIssue] = []
        self.warnings: list[AvailsIssue] = []
        self.keys: dict[tuple[str, str], int] = {}

    def error(self, element: Any, message: str) -> None:
        self.errors.append(AvailsIssue(_line(element), message))

    def warn(self, element: Any, message: str) -> None:
        self.warnings.append(AvailsIssue(_line(element), message))

    def kids(self, element: Any, name: str, *, md: bool = False) -> list[Any]:
        found = []
        for child in element:
            if not isinstance(child.tag, str):
                continue  # comments and processing instructions
            qname = etree.QName(child)
            namespace = qname.namespace or ""
            in_namespace = (
                bool(_MD_NAMESPACE.match(namespace)) if md else namespace == self.namespace
            )
            if in_namespace and qname.localname == name:
                found.append(child)
        return found

    def kid(self, element: Any, name: str, *, md: bool = False) -> Any | None:
        found = self.kids(element, name, md=md)
        return found[0] if found else None

    def text(self, element: Any, name: str, *, md: bool = False) -> str:
        child = self.kid(element, name, md=md)
        return _clean(child.text) if child is not None else ""

    # --- Avail ---

    def avail(self, element: Any) -> Avail | None:
        before = len(self.errors)
        alid = self.text(element, "ALID")
        if not alid:
            self.error(element, "an Avail needs an ALID")
        elif len(alid) > MAX_ALID:
            self.error(self.kid(element, "ALID"), f"the ALID is longer than {MAX_ALID} characters")
        disposition = self._disposition(element)
        licensor = self._licensor(element)
        assets = self.kids(element, "Asset")
        asset, skipped = self._asset(element, assets)
        transactions = [
            self.transaction(t, alid=alid, licensor=licensor, avail_skipped=skipped is not None)
            for t in self.kids(element, "Transaction")
        ]
        if not transactions:
            self.error(element, "an Avail needs at least one Transaction")
        if len(self.errors) > before:
            return None
        if skipped is not None:
            self.warn(element, f"Avail {alid} skipped: {skipped}")
        return Avail(
            alid=alid,
            licensor=licensor,
            disposition=disposition,
            asset=asset,
            transactions=tuple(t for t in transactions if t is not None),
            skipped=skipped,
            line=_line(element),
        )

    def _disposition(self, element: Any) -> str:
        disposition = self.kid(element, "Disposition")
        entry = self.text(disposition, "EntryType") if disposition is not None else ""
        if not entry:
            self.error(
                disposition if disposition is not None else element,
                "an Avail needs a Disposition/EntryType",
            )
            return ""
        for known in ENTRY_TYPES:
            if entry.casefold() == known.casefold():
                return known
        self.error(
            self.kid(disposition, "EntryType"),
            f"unknown EntryType {entry!r} (one of {', '.join(ENTRY_TYPES)})",
        )
        return ""

    def _licensor(self, element: Any) -> str:
        licensor = self.kid(element, "Licensor")
        name = self.text(licensor, "DisplayName", md=True) if licensor is not None else ""
        if not name:
            self.error(
                licensor if licensor is not None else element,
                "an Avail needs a Licensor/DisplayName",
            )
        elif len(name) > MAX_LICENSOR:
            self.error(licensor, f"the licensor's name is longer than {MAX_LICENSOR} characters")
        return name

    # --- Asset ---

    def _asset(self, avail: Any, assets: list[Any]) -> tuple[AvailsAsset | None, str | None]:
        """The licensed title, or why the Avail is skipped."""
        if not assets:
            self.error(avail, "an Avail needs an Asset")
            return None, None
        for element in assets:
            if not (element.get("contentID") or "").strip():
                self.error(element, "an Asset needs a contentID")
            if not self.text(element, "WorkType"):
                self.error(element, "an Asset needs a WorkType")
        if len(assets) > 1:
            return None, f"an Avail of {len(assets)} Assets (a bundle) is not supported"
        element = assets[0]
        content_id = (element.get("contentID") or "").strip()
        work_type = self.text(element, "WorkType")
        if not content_id or not work_type:
            return None, None
        kind = WORK_TYPES.get(work_type)
        if kind is None:
            return None, (
                f"WorkType {work_type} is not offered by the catalogue "
                f"(only {', '.join(WORK_TYPES)})"
            )
        metadata_name = {
            "movie": "Metadata",
            "episode": "EpisodeMetadata",
            "season": "SeasonMetadata",
            "series": "SeriesMetadata",
        }[kind]
        metadata = self.kid(element, metadata_name)
        if metadata is None:
            self.error(element, f"a {work_type} Asset needs {metadata_name} (its title)")
            return None, None
        if kind == "movie":
            return AvailsAsset(self._unit(metadata, content_id, "movie")), None
        if kind == "series":
            return AvailsAsset(self._series(metadata, content_id)), None
        if kind == "season":
            season, series = self._season(metadata, content_id)
            if season is None:
                return None, None
            return AvailsAsset(season, series=series), None
        episode = self._unit(metadata, content_id, "episode")
        season_element = self.kid(metadata, "SeasonMetadata")
        if season_element is None:
            if self.kid(metadata, "SeriesMetadata") is None:
                self.error(metadata, "an Episode needs SeasonMetadata")
                return None, None
            return None, "an Episode without SeasonMetadata has no season to belong to"
        season, series = self._season(season_element, None)
        if season is None:
            return None, None
        return AvailsAsset(episode, season=season, series=series), None

    def _unit(self, metadata: Any, content_id: str, kind: str) -> TitleRef:
        name = self.text(metadata, "TitleDisplayUnlimited") or self.text(
            metadata, "TitleInternalAlias"
        )
        year = self._year(metadata)
        number = None
        if kind == "episode":
            number = self._number(metadata, "EpisodeNumber")
        self._check_title(metadata, name, year, "TitleDisplayUnlimited or TitleInternalAlias")
        eidr = self._eidr(metadata, "EditEIDR-URN") or self._eidr(metadata, "TitleEIDR-URN")
        return TitleRef(content_id, kind, name, year, number, eidr, line=_line(metadata))

    def _season(
        self, metadata: Any, content_id: str | None
    ) -> tuple[TitleRef | None, TitleRef | None]:
        season_id = self.text(metadata, "SeasonContentID")
        if not season_id:
            self.error(metadata, "SeasonMetadata needs a SeasonContentID")
        number = self._number(metadata, "SeasonNumber")
        if self.kid(metadata, "SeasonNumber") is None:
            self.error(metadata, "SeasonMetadata needs a SeasonNumber")
        series_element = self.kid(metadata, "SeriesMetadata")
        series = None
        if series_element is None:
            self.error(metadata, "SeasonMetadata needs SeriesMetadata")
        else:
            series = self._series(series_element, None)
        name = self.text(metadata, "SeasonTitleDisplayUnlimited") or self.text(
            metadata, "SeasonTitleInternalAlias"
        )
        if not name:
            name = f"Season {number}" if number is not None else "Season"
        year = self._year(metadata)
        self._check_title(metadata, name, year, "SeasonTitleDisplayUnlimited")
        if not season_id:
            return None, series
        own_id = content_id or season_id
        season = TitleRef(
            own_id,
            "season",
            name,
            year,
            number,
            self._eidr(metadata, "SeasonEIDR-URN"),
            aliases=(season_id,) if season_id != own_id else (),
            line=_line(metadata),
        )
        return season, series

    def _series(self, metadata: Any, content_id: str | None) -> TitleRef:
        series_id = self.text(metadata, "SeriesContentID")
        if not series_id:
            self.error(metadata, "SeriesMetadata needs a SeriesContentID")
        name = self.text(metadata, "SeriesTitleDisplayUnlimited") or self.text(
            metadata, "SeriesTitleInternalAlias"
        )
        year = self._year(metadata)
        self._check_title(
            metadata, name, year, "SeriesTitleDisplayUnlimited or SeriesTitleInternalAlias"
        )
        own_id = content_id or series_id
        return TitleRef(
            own_id,
            "series",
            name,
            year,
            eidr=self._eidr(metadata, "SeriesEIDR-URN"),
            aliases=(series_id,) if series_id and series_id != own_id else (),
            line=_line(metadata),
        )

    def _check_title(self, metadata: Any, name: str, year: int | None, source: str) -> None:
        if not name:
            self.error(metadata, f"the title has no name ({source})")
            return
        try:
            validate_title(name, year)
        except InvalidTitle as error:
            self.error(metadata, str(error))

    def _year(self, metadata: Any) -> int | None:
        text = self.text(metadata, "ReleaseDate")
        if not text:
            return None
        match = _YEAR.match(text)
        if match is None:
            self.error(self.kid(metadata, "ReleaseDate"), f"ReleaseDate {text!r} is not a date")
            return None
        return int(match.group(1))

    def _number(self, metadata: Any, name: str) -> int | None:
        element = self.kid(metadata, name)
        if element is None:
            return None
        text = self.text(element, "Number", md=True)
        if not text:
            return None
        try:
            number = int(text)
        except ValueError:
            number = -1
        if number < 0:
            self.error(element, f"{name} {text!r} is not a number of zero or more")
            return None
        return number

    def _eidr(self, metadata: Any, name: str) -> str | None:
        text = self.text(metadata, name)
        if not text:
            return None
        eidr = normalise_eidr(text)
        if eidr is None:
            self.warn(self.kid(metadata, name), f"{name} {text!r} is not an EIDR content ID")
        return eidr

    # --- Transaction ---

    def transaction(
        self, element: Any, *, alid: str, licensor: str, avail_skipped: bool
    ) -> AvailsTransaction | None:
        before = len(self.errors)
        transaction_id = (element.get("TransactionID") or "").strip() or None
        license_type, skipped = self._license_type(element)
        territories = self._territories(element)
        start = self._start(element)
        end_element, end = self._end(element)
        format_cap, format_skip = self._format(element)
        skipped = skipped or format_skip
        audio, subtitles = self._languages(element)
        if len(self.errors) > before or start is None or license_type is None:
            return None
        if skipped is not None and not avail_skipped:
            named = f"transaction {transaction_id}" if transaction_id else "a transaction"
            self.warn(element, f"{named} skipped: {skipped}")
        windows: list[AvailsWindow] = []
        for territory in territories:
            starts_at = local_instant(start, territory)
            ends_at = local_instant(end, territory) if end is not None else None
            if ends_at is not None and ends_at <= starts_at:
                start_text = self.text(element, "Start")
                self.error(
                    end_element,
                    f"End {_clean(end_element.text)} is not after Start {start_text}"
                    + (f" (in {territory})" if len(territories) > 1 else ""),
                )
                continue
            if transaction_id is None:
                key = derived_key(alid, territory, license_type, starts_at, format_cap)
            elif len(territories) == 1:
                key = transaction_id
            else:
                key = f"{transaction_id}/{territory}"
            if len(key) > MAX_KEY:
                self.error(element, f"the TransactionID is longer than {MAX_KEY - 3} characters")
                continue
            try:
                spec = validate_window(
                    WindowSpec(
                        territory=territory,
                        license_type=license_type,
                        starts_at=starts_at,
                        ends_at=ends_at,
                        format_cap=format_cap or "HD",
                        audio_languages=audio,
                        subtitle_languages=subtitles,
                        licensor=licensor,
                        transaction_id=key,
                        alid=alid,
                    )
                )
            except InvalidWindow as error:
                self.error(element, str(error))
                continue
            windows.append(AvailsWindow(key, spec, _line(element)))
            # A key names one window of a licensor, even in an Avail that is skipped; a
            # derived key of a skipped transaction means nothing (its terms are not ours).
            if transaction_id is not None or (skipped is None and not avail_skipped):
                self._claim(element, licensor, key)
        if len(self.errors) > before:
            return None
        return AvailsTransaction(
            transaction_id, tuple(windows) if skipped is None else (), skipped, _line(element)
        )

    def _claim(self, element: Any, licensor: str, key: str) -> None:
        """A window key appears once per licensor in a file: twice is ambiguous."""
        first = self.keys.get((licensor, key))
        if first is not None:
            self.error(
                element, f"transaction {key!r} of {licensor} already appears at line {first}"
            )
        else:
            self.keys[(licensor, key)] = _line(element)

    def _license_type(self, element: Any) -> tuple[str | None, str | None]:
        raw = self.text(element, "LicenseType")
        if not raw:
            self.error(element, "a Transaction needs a LicenseType")
            return None, None
        mapped = LICENSE_TYPES.get(raw.upper())
        if mapped is not None:
            return mapped, None
        reason = _UNUSABLE_LICENSE_TYPES.get(raw.upper())
        if reason is not None:
            # Any real type will do: the rest of the transaction is still checked, and a
            # skipped transaction never becomes a window.
            return "SVOD", f"licence type {raw} is not supported: {reason}"
        self.error(
            self.kid(element, "LicenseType"),
            f"unknown licence type {raw!r} (SVOD, TVOD, EST, AVOD, FVOD, or VOD for TVOD)",
        )
        return None, None

    def _countries(self, regions: list[Any], what: str) -> list[str]:
        found = []
        for region in regions:
            country = self.kid(region, "country", md=True)
            if country is None:
                sub = self.text(region, "countryRegion", md=True)
                if sub:
                    self.error(region, f"{what} {sub}: sub-national territories are not supported")
                else:
                    self.error(region, f"{what} needs an md:country")
                continue
            code = _clean(country.text)
            try:
                found.append(normalise_territory(code))
            except UnknownTerritoryCode:
                self.error(country, f"{code!r} is not an ISO 3166-1 alpha-2 country code")
        return list(dict.fromkeys(found))

    def _territories(self, element: Any) -> list[str]:
        included = self.kids(element, "Territory")
        if not included:
            self.error(element, "a Transaction needs a Territory")
            return []
        territories = self._countries(included, "Territory")
        excluded = set(
            self._countries(self.kids(element, "TerritoryExcluded"), "TerritoryExcluded")
        )
        kept = [t for t in territories if t not in excluded]
        if territories and not kept:
            self.error(element, "every Territory of the Transaction is excluded")
        return kept

    def _instant(self, element: Any, what: str) -> datetime | None:
        text = _clean(element.text)
        try:
            if not _INSTANT.match(text):
                raise ValueError(text)
            return datetime.fromisoformat(text)
        except ValueError:
            self.error(element, f"{what} {text!r} is not a date and time (YYYY-MM-DDThh:mm:ss)")
            return None

    def _start(self, element: Any) -> datetime | None:
        start = self.kid(element, "Start")
        if start is not None:
            return self._instant(start, "Start")
        condition = self.kid(element, "StartCondition")
        if condition is not None:
            self.error(
                condition,
                f"StartCondition {_clean(condition.text)!r} is not supported: give a Start date",
            )
        else:
            self.error(element, "a Transaction needs a Start")
        return None

    def _end(self, element: Any) -> tuple[Any, datetime | None]:
        end = self.kid(element, "End")
        if end is not None:
            return end, self._instant(end, "End")
        condition = self.kid(element, "EndCondition")
        if condition is None:
            self.error(element, "a Transaction needs an End or an EndCondition")
        elif _clean(condition.text) != "Open":
            self.error(
                condition,
                f"EndCondition {_clean(condition.text)!r} is not supported (Open, or give an End)",
            )
        return condition, None

    def _format(self, element: Any) -> tuple[str | None, str | None]:
        profile = self.kid(element, "FormatProfile")
        raw = _clean(profile.text) if profile is not None else ""
        if not raw:
            self.error(element, "a Transaction needs a FormatProfile")
            return None, None
        mapped = FORMATS.get(raw.upper())
        if mapped is not None:
            return mapped, None
        if raw.upper() in _UNUSABLE_FORMATS:
            return None, f"format {raw} is 3D, which grants no 2D rights"
        self.error(profile, f"unknown FormatProfile {raw!r} (SD, HD or UHD)")
        return None, None

    def _languages(self, element: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
        audio: list[str] = []
        subtitles: list[str] = []
        for allowed in self.kids(element, "AllowedLanguage"):
            targets = self._language_targets(allowed)
            tag = self._tag(allowed)
            if tag is None or targets is None:
                continue
            if targets[0]:
                audio.append(tag)
            if targets[1]:
                subtitles.append(tag)
        for asset_language in self.kids(element, "AssetLanguage"):
            self._tag(asset_language)
        for holdback in self.kids(element, "HoldbackLanguage"):
            targets = self._language_targets(holdback)
            tag = self._tag(holdback)
            if tag is None or targets is None:
                continue
            for wanted, allowed_list, what in (
                (targets[0], audio, "audio"),
                (targets[1], subtitles, "subtitle"),
            ):
                if not wanted:
                    continue
                if not allowed_list:
                    self.error(
                        holdback,
                        f"HoldbackLanguage {tag} cannot be honoured without the allowed "
                        f"{what} languages (AllowedLanguage)",
                    )
                while tag in allowed_list:
                    allowed_list.remove(tag)
        return tuple(dict.fromkeys(audio)), tuple(dict.fromkeys(subtitles))

    def _language_targets(self, element: Any) -> tuple[bool, bool] | None:
        asset = (element.get("asset") or "subdub").strip()
        targets = _LANGUAGE_ASSETS.get(asset)
        if targets is None:
            self.error(element, f"unknown language asset {asset!r} (audio, subtitle or subdub)")
        return targets

    def _tag(self, element: Any) -> str | None:
        text = _clean(element.text)
        try:
            return language_tag(text)
        except ValueError as error:
            self.error(element, str(error))
            return None


def language_tag(text: str) -> str:
    """A well-formed BCP 47 tag in canonical case (``EN`` → ``en``, ``en-gb`` → ``en-GB``).

    Well-formedness and the region are checked (regions are ISO 3166-1 or UN M.49 codes);
    whether a language subtag is registered cannot be, without the IANA registry.
    """
    parts = text.replace("_", "-").split("-")
    if not re.fullmatch(r"[A-Za-z]{2,3}", parts[0]):
        raise ValueError(f"{text!r} is not a language tag (RFC 5646)")
    canonical = [parts[0].lower()]
    for part in parts[1:]:
        if re.fullmatch(r"[A-Za-z]{3}", part) and len(canonical) == 1:
            canonical.append(part.lower())  # extended language
        elif re.fullmatch(r"[A-Za-z]{4}", part):
            canonical.append(part.title())  # script
        elif re.fullmatch(r"[A-Za-z]{2}", part):
            if part.upper() not in iso_country_codes():
                raise ValueError(
                    f"{text!r}: region {part!r} is not an ISO 3166-1 alpha-2 country code"
                )
            canonical.append(part.upper())
        elif re.fullmatch(r"\d{3}|[A-Za-z0-9]{5,8}|\d[A-Za-z0-9]{3}", part):
            canonical.append(part.lower())  # UN M.49 area or variant
        else:
            raise ValueError(f"{text!r} is not a language tag Cineflux accepts (RFC 5646)")
    return "-".join(canonical)


def normalise_eidr(text: str) -> str | None:
    """``10.5240/XXXX-XXXX-XXXX-XXXX-XXXX-C`` from its URN or DOI form; None if not one."""
    match = _EIDR.match(text.strip())
    return f"10.5240/{match.group(1).upper()}" if match else None


@functools.cache
def _country_zones() -> dict[str, tuple[str, ...]]:
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    zones: dict[str, list[str]] = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            code, _coordinates, zone = line.split("\t")[:3]
            zones.setdefault(code, []).append(zone)
    return {code: tuple(names) for code, names in zones.items()}


def local_instant(moment: datetime, territory: str) -> datetime:
    """An avails time in UTC; without an offset, local in the territory's first time zone.

    The first zone is the one where that local time comes first (New York for the US).
    """
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    zones = _country_zones().get(territory, ("UTC",))
    return min(moment.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC) for zone in zones)


def derived_key(
    alid: str, territory: str, license_type: str, starts_at: datetime, format_cap: str | None
) -> str:
    """The stable key of a transaction that has no TransactionID."""
    source = "\x1f".join(
        [alid, territory, license_type, starts_at.astimezone(UTC).isoformat(), format_cap or ""]
    )
    return "derived-" + hashlib.sha256(source.encode()).hexdigest()[:32]


# --- XSD validation ----------------------------------------------------------------------------


def schema_file(schema_dir: Path, version: str) -> Path:
    """Where the MovieLabs XSD of an avails version lives in a schema directory."""
    return schema_dir / f"avails-v{version}.xsd"


_SCHEMA_LOCK = threading.Lock()


@functools.lru_cache(maxsize=16)
def _compiled_schema(path: str, _modified: int) -> Any:
    # The XSD imports md-vX.xsd and mdmec-vX.xsd by relative schemaLocation: parsing it from
    # its own path lets libxml2 find them in the same directory, without any network.
    return etree.XMLSchema(etree.parse(path, _parser()))


def load_schema(schema_dir: Path, version: str) -> Any:
    """The compiled XSD of an avails version, or ``AvailsSchemaUnavailable`` saying why."""
    if not schema_dir.is_dir():
        raise AvailsSchemaUnavailable(f"the avails schema directory {schema_dir} does not exist")
    path = schema_file(schema_dir, version)
    if not path.is_file():
        raise AvailsSchemaUnavailable(
            f"no schema for avails v{version} in {schema_dir} (expected {path.name})"
        )
    try:
        return _compiled_schema(str(path.resolve()), path.stat().st_mtime_ns)
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as error:
        raise AvailsSchemaUnavailable(f"cannot load {path}: {error}") from None


def schema_issues(tree: Any, version: str, schema_dir: Path) -> list[AvailsIssue]:
    """What the MovieLabs XSD of ``version`` finds wrong in a parsed document."""
    schema = load_schema(schema_dir, version)
    # libxml2 keeps the error log on the schema object: one validation at a time.
    with _SCHEMA_LOCK:
        if schema.validate(tree):
            return []
        log = list(schema.error_log)
    return [
        AvailsIssue(int(entry.line or 0), "schema: " + _SCHEMA_NAMES.sub(r"\1:", entry.message))
        for entry in log
    ]


# --- Writing ---------------------------------------------------------------------------------


def _instant_text(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _eidr_urn(eidr: str | None) -> str | None:
    return "urn:eidr:" + eidr.replace("/", ":", 1) if eidr else None


def _year_text(year: int | None) -> str | None:
    return f"{year:04d}" if year is not None else None


class _Writer:
    """Builds avails XML of ``EXPORT_VERSION`` in the order its XSD wants."""

    def __init__(self) -> None:
        self.root = etree.Element(
            f"{{{EXPORT_NAMESPACE}}}AvailList",
            nsmap={"avails": EXPORT_NAMESPACE, "md": EXPORT_MD_NAMESPACE},
        )

    @staticmethod
    def add(
        parent: Any,
        name: str,
        text: str | None = None,
        *,
        md: bool = False,
        attrs: dict[str, str] | None = None,
    ) -> Any:
        namespace = EXPORT_MD_NAMESPACE if md else EXPORT_NAMESPACE
        element = etree.SubElement(parent, f"{{{namespace}}}{name}", attrs or {})
        if text is not None:
            element.text = text
        return element

    def avail(self, avail: Avail) -> None:
        if avail.asset is None:
            return
        element = self.add(self.root, "Avail")
        self.add(element, "ALID", avail.alid)
        disposition = self.add(element, "Disposition")
        self.add(disposition, "EntryType", avail.disposition)
        licensor = self.add(element, "Licensor")
        self.add(licensor, "DisplayName", avail.licensor, md=True)
        title = avail.asset.title
        self.add(element, "AvailType", _AVAIL_TYPES[title.kind])
        self.add(element, "ShortDescription", f"{title.name}: rights windows from Cineflux")
        asset = self.add(element, "Asset", attrs={"contentID": title.content_id})
        self.add(asset, "WorkType", _EXPORT_WORK_TYPES[title.kind])
        if title.kind == "movie":
            self.metadata(self.add(asset, "Metadata"), title)
        elif title.kind == "episode":
            metadata = self.add(asset, "EpisodeMetadata")
            self.metadata(metadata, title)
            self.sequence(metadata, "EpisodeNumber", title.number)
            if avail.asset.season is not None and avail.asset.series is not None:
                self.season(
                    self.add(metadata, "SeasonMetadata"), avail.asset.season, avail.asset.series
                )
        elif title.kind == "season" and avail.asset.series is not None:
            self.season(self.add(asset, "SeasonMetadata"), title, avail.asset.series)
        else:
            self.series(self.add(asset, "SeriesMetadata"), title)
        for transaction in avail.transactions:
            self.transaction(element, transaction)

    def optional(self, parent: Any, name: str, text: str | None) -> None:
        if text is not None:
            self.add(parent, name, text)

    def metadata(self, element: Any, title: TitleRef) -> None:
        self.add(element, "TitleDisplayUnlimited", title.name)
        self.add(element, "TitleInternalAlias", title.name)
        self.optional(element, "EditEIDR-URN", _eidr_urn(title.eidr))
        self.optional(element, "ReleaseDate", _year_text(title.year))

    def sequence(self, parent: Any, name: str, number: int | None) -> None:
        element = self.add(parent, name)
        if number is not None:
            self.add(element, "Number", str(number), md=True)

    def season(self, element: Any, season: TitleRef, series: TitleRef) -> None:
        self.add(element, "SeasonContentID", season.content_id)
        self.optional(element, "SeasonEIDR-URN", _eidr_urn(season.eidr))
        self.add(element, "SeasonTitleDisplayUnlimited", season.name)
        self.sequence(element, "SeasonNumber", season.number)
        self.optional(element, "ReleaseDate", _year_text(season.year))
        self.series(self.add(element, "SeriesMetadata"), series)

    def series(self, element: Any, series: TitleRef) -> None:
        self.add(element, "SeriesContentID", series.content_id)
        self.optional(element, "SeriesEIDR-URN", _eidr_urn(series.eidr))
        self.add(element, "SeriesTitleDisplayUnlimited", series.name)
        self.add(element, "SeriesTitleInternalAlias", series.name)
        self.optional(element, "ReleaseDate", _year_text(series.year))

    def transaction(self, parent: Any, transaction: AvailsTransaction) -> None:
        if not transaction.windows:
            return
        # The windows of one transaction share their terms but the territory.
        spec = transaction.windows[0].spec
        attrs = {"TransactionID": transaction.transaction_id} if transaction.transaction_id else {}
        element = self.add(parent, "Transaction", attrs=attrs)
        self.add(
            element, "LicenseType", _EXPORT_LICENSE_TYPES.get(spec.license_type, spec.license_type)
        )
        for window in transaction.windows:
            territory = self.add(element, "Territory")
            self.add(territory, "country", window.spec.territory, md=True)
        self.add(element, "Start", _instant_text(spec.starts_at))
        if spec.ends_at is None:
            self.add(element, "EndCondition", "Open")
        else:
            self.add(element, "End", _instant_text(spec.ends_at))
        if spec.audio_languages == spec.subtitle_languages:
            for tag in spec.audio_languages:
                self.add(element, "AllowedLanguage", tag)
        else:
            for tag in spec.audio_languages:
                self.add(element, "AllowedLanguage", tag, attrs={"asset": "audio"})
            for tag in spec.subtitle_languages:
                self.add(element, "AllowedLanguage", tag, attrs={"asset": "subtitle"})
        self.add(element, "FormatProfile", spec.format_cap)


def export_avails(avails: Sequence[Avail]) -> bytes:
    """Avails XML (v2.7) of these Avails: one Transaction per transaction, times in UTC."""
    writer = _Writer()
    for avail in avails:
        writer.avail(avail)
    return bytes(
        etree.tostring(writer.root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    )
