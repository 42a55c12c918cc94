"""Avails against the database: applying a checked document, collecting windows to export.

The document was checked whole by ``rights.avails`` before anything here runs, so applying it
only meets what depends on stored data (a content ID that already names another kind of
title). Everything happens in the caller's transaction: one file, one transaction, flushed
and never committed here, so any failure leaves nothing behind.

Dispositions, per licensor (the Licensor's display name) and window key:

- Create, Update: upsert every window of the Avail's transactions. A transaction's windows
  that are no longer in it (a territory dropped) are removed. Create of a window that
  exists updates it: resending a file must not fail.
- Delete: remove the windows of the Avail's transactions; unknown ones are ignored.
- Full Delete: remove every window of the licensor from this ALID.
- Full Extract: like Update, then the licensor's windows that came from avails and are not
  in the file are removed: the file is everything the licensor offers.

A window whose terms already match is left alone and counted as unchanged, so re-importing a
file changes nothing and says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cineflux.catalog import service as catalog
from cineflux.clock import Clock
from cineflux.db import transaction
from cineflux.platform import Platform
from cineflux.rights import service as rights
from cineflux.rights.avails import (
    CINEFLUX_CONTENT_ID_PREFIX,
    CONTENT_ID_SCHEME,
    EIDR_SCHEME,
    Avail,
    AvailsAsset,
    AvailsDocument,
    AvailsInvalid,
    AvailsIssue,
    AvailsTransaction,
    AvailsWindow,
    TitleRef,
    export_avails,
    parse_avails,
)
from cineflux.rights.models import RightsWindow

if TYPE_CHECKING:
    from cineflux.catalog.models import Title  # what the catalogue's service returns


@dataclass
class ImportResult:
    """What an import did, in the counts scripts read."""

    file: str
    avails: int
    transactions: int
    schema_validated: bool
    titles_created: int = 0
    windows_created: int = 0
    windows_updated: int = 0
    windows_deleted: int = 0
    windows_unchanged: int = 0
    skipped: int = 0
    warnings: list[AvailsIssue] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` output of ``cineflux avails import``."""
        return {
            "file": self.file,
            "avails": self.avails,
            "transactions": self.transactions,
            "titles_created": self.titles_created,
            "windows_created": self.windows_created,
            "windows_updated": self.windows_updated,
            "windows_deleted": self.windows_deleted,
            "windows_unchanged": self.windows_unchanged,
            "skipped": self.skipped,
            "schema_validated": self.schema_validated,
            "warnings": [w.to_json() for w in self.warnings],
        }


class _DryRun(Exception):
    """Raised inside the import's transaction to roll it back, carrying what it did."""

    def __init__(self, result: ImportResult) -> None:
        super().__init__("dry run")
        self.result = result


def import_avails(
    platform: Platform,
    data: bytes,
    *,
    file: str,
    schema_dir: Path | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Check an avails file whole, then apply it in one transaction: all of it, or nothing.

    Raises ``AvailsInvalid`` listing what is wrong; ``dry_run`` rolls back a successful run.
    """
    document = parse_avails(data, file=file, schema_dir=schema_dir)
    try:
        with transaction(platform.sessions) as session:
            result = apply_document(
                session,
                document,
                clock=platform.clock,
                platform_profile=platform.settings.platform_profile,
            )
            if dry_run:
                raise _DryRun(result)
    except _DryRun as rolled_back:
        return rolled_back.result
    return result


def apply_document(
    session: Session, document: AvailsDocument, *, clock: Clock, platform_profile: str
) -> ImportResult:
    """Apply a checked avails document (see the module docstring for dispositions)."""
    result = ImportResult(
        file=document.file,
        avails=len(document.avails),
        transactions=document.transaction_count,
        schema_validated=document.schema_validated,
        skipped=document.skipped_count,
        warnings=list(document.warnings),
    )
    run = _Run(session, clock, document.file, result)
    for avail in document.avails:
        if avail.skipped is None:
            run.apply(avail)
    full_extracts = {a.licensor for a in document.avails if a.disposition == "Full Extract"}
    for licensor in sorted(full_extracts):
        run.remove_unlisted(licensor)
    if run.touched:
        policy = rights.rights_policy(session, platform_profile)
        rights.refresh_availability(session, policy=policy, title_ids=run.touched)
    result.warnings.sort()
    return result


def _avails_windows(session: Session, licensor: str) -> dict[str, RightsWindow]:
    """The licensor's windows that came from avails, by key (the service has no such query)."""
    rows = session.scalars(
        select(RightsWindow).where(
            RightsWindow.licensor == licensor, RightsWindow.transaction_id.is_not(None)
        )
    )
    return {row.transaction_id: row for row in rows if row.transaction_id is not None}


def _same_terms(window: RightsWindow, title_id: str, spec: rights.WindowSpec) -> bool:
    return (
        window.title_id == title_id
        and window.territory == spec.territory
        and window.license_type == spec.license_type
        and window.starts_at == spec.starts_at
        and window.ends_at == spec.ends_at
        and window.format_cap == spec.format_cap
        and window.audio_languages == ",".join(spec.audio_languages)
        and window.subtitle_languages == ",".join(spec.subtitle_languages)
        and window.alid == spec.alid
        and window.transaction_id == spec.transaction_id
        and not window.holdbacks
    )


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


class _Run:
    """One import: the licensors' stored windows, what the file names, what changed."""

    def __init__(self, session: Session, clock: Clock, file: str, result: ImportResult) -> None:
        self.session = session
        self.clock = clock
        self.file = file
        self.result = result
        self.stored: dict[str, dict[str, RightsWindow]] = {}
        self.listed: dict[str, set[str]] = defaultdict(set)
        self.touched: list[str] = []

    def windows_of(self, licensor: str) -> dict[str, RightsWindow]:
        if licensor not in self.stored:
            self.stored[licensor] = _avails_windows(self.session, licensor)
        return self.stored[licensor]

    def apply(self, avail: Avail) -> None:
        stored = self.windows_of(avail.licensor)
        if avail.disposition == "Full Delete":
            for key, window in list(stored.items()):
                if window.alid == avail.alid:
                    self.remove(avail.licensor, key)
            return
        if avail.disposition == "Delete":
            for transaction in avail.transactions:
                for key in [k for k in stored if transaction.owns(k)]:
                    self.remove(avail.licensor, key)
            return
        if avail.asset is None:
            return
        title_id = self.title_for(avail.asset)
        for transaction in avail.transactions:
            if transaction.skipped is None:
                self.upsert(avail.licensor, title_id, transaction)

    def upsert(self, licensor: str, title_id: str, transaction: AvailsTransaction) -> None:
        stored = self.windows_of(licensor)
        keys = {w.key for w in transaction.windows}
        # Stored windows of this transaction under another key (its territories changed):
        # reused by territory, so a renamed window is an update, not a delete and a create.
        others = [stored[k] for k in stored if transaction.owns(k) and k not in keys]
        for window in transaction.windows:
            self.listed[licensor].add(window.key)
            existing = stored.get(window.key)
            if existing is None:
                existing = next((w for w in others if w.territory == window.spec.territory), None)
                if existing is not None:
                    others.remove(existing)
                    del stored[existing.transaction_id or ""]
                    stored[window.key] = existing
            self.put(licensor, title_id, window, existing)
        for dropped in others:
            self.remove(licensor, dropped.transaction_id or "")

    def put(
        self,
        licensor: str,
        title_id: str,
        window: AvailsWindow,
        existing: RightsWindow | None,
    ) -> None:
        stored = self.windows_of(licensor)
        if existing is None:
            stored[window.key] = rights.add_window(
                self.session, clock=self.clock, title_id=title_id, spec=window.spec
            )
            self.result.windows_created += 1
            self.touched.append(title_id)
        elif _same_terms(existing, title_id, window.spec):
            self.result.windows_unchanged += 1
        elif existing.title_id != title_id:
            # The transaction now licenses another title: the service cannot move a window.
            self.touched.append(existing.title_id)
            rights.remove_window(self.session, existing)
            stored[window.key] = rights.add_window(
                self.session, clock=self.clock, title_id=title_id, spec=window.spec
            )
            self.result.windows_updated += 1
            self.touched.append(title_id)
        else:
            rights.update_window(self.session, clock=self.clock, window=existing, spec=window.spec)
            self.result.windows_updated += 1
            self.touched.append(title_id)

    def remove(self, licensor: str, key: str) -> None:
        window = self.windows_of(licensor).pop(key, None)
        if window is None:
            return
        self.touched.append(window.title_id)
        rights.remove_window(self.session, window)
        self.result.windows_deleted += 1

    def remove_unlisted(self, licensor: str) -> None:
        for key in list(self.windows_of(licensor)):
            if key not in self.listed[licensor]:
                self.remove(licensor, key)

    # --- Titles ---

    def title_for(self, asset: AvailsAsset) -> str:
        """The id of the asset's title, creating it (and its season and series) if new."""
        parent_id: str | None = None
        title_id = ""
        for ref in asset.lineage():
            title_id = self.ensure(ref, parent_id)
            parent_id = title_id
        return title_id

    def ensure(self, ref: TitleRef, parent_id: str | None) -> str:
        title = self.find(ref)
        if title is None:
            title = catalog.create_title(
                self.session,
                clock=self.clock,
                name=ref.name,
                year=ref.year,
                kind=ref.kind,
                parent_id=parent_id if ref.kind in ("season", "episode") else None,
                number=ref.number,
            )
            self.result.titles_created += 1
        elif title.kind != ref.kind:
            raise AvailsInvalid(
                self.file,
                [
                    AvailsIssue(
                        ref.line,
                        f"content ID {ref.content_id} names the {title.kind} "
                        f"{title.name!r} in the catalogue, not {_a(ref.kind)}",
                    )
                ],
            )
        for content_id in (ref.content_id, *ref.aliases):
            self.identify(title, CONTENT_ID_SCHEME, content_id, ref)
        if ref.eidr is not None:
            self.identify(title, EIDR_SCHEME, ref.eidr, ref)
        return title.id

    def find(self, ref: TitleRef) -> Title | None:
        for content_id in (ref.content_id, *ref.aliases):
            title = catalog.find_by_identifier(self.session, CONTENT_ID_SCHEME, content_id)
            if title is not None:
                return title
        if ref.content_id.startswith(CINEFLUX_CONTENT_ID_PREFIX):
            # A title exported without a partner's content ID comes back under its own id.
            try:
                return catalog.get_title(
                    self.session, ref.content_id.removeprefix(CINEFLUX_CONTENT_ID_PREFIX)
                )
            except catalog.TitleNotFound:
                pass
        if ref.eidr is not None:
            return catalog.find_by_identifier(self.session, EIDR_SCHEME, ref.eidr)
        return None

    def identify(self, title: Title, scheme: str, value: str, ref: TitleRef) -> None:
        owner = catalog.find_by_identifier(self.session, scheme, value)
        if owner is None:
            catalog.add_identifier(self.session, title.id, scheme, value)
        elif owner.id != title.id:
            self.result.warnings.append(
                AvailsIssue(
                    ref.line, f"{scheme} {value} already names another title ({owner.name})"
                )
            )


# --- Export ----------------------------------------------------------------------------------


def _exported_windows(
    session: Session, *, territory: str | None, licensor: str | None
) -> list[RightsWindow]:
    """Windows that came from avails (the service has no query by licensor)."""
    query = select(RightsWindow).where(RightsWindow.transaction_id.is_not(None))
    if territory is not None:
        query = query.where(RightsWindow.territory == territory)
    if licensor is not None:
        query = query.where(RightsWindow.licensor == licensor)
    return list(
        session.scalars(
            query.order_by(
                RightsWindow.licensor,
                RightsWindow.alid,
                RightsWindow.title_id,
                RightsWindow.transaction_id,
            )
        )
    )


def _title_ref(session: Session, title: Title) -> TitleRef:
    identifiers = catalog.identifiers_of(session, title.id)
    return TitleRef(
        content_id=identifiers.get(CONTENT_ID_SCHEME, CINEFLUX_CONTENT_ID_PREFIX + title.id),
        kind=title.kind,
        name=title.name,
        year=title.year,
        number=title.number,
        eidr=identifiers.get(EIDR_SCHEME),
    )


def _asset(session: Session, title_id: str) -> AvailsAsset:
    title = catalog.get_title(session, title_id)
    ref = _title_ref(session, title)
    if title.kind == "episode" and title.parent_id is not None:
        season = catalog.get_title(session, title.parent_id)
        series = catalog.get_title(session, season.parent_id) if season.parent_id else None
        return AvailsAsset(
            ref,
            season=_title_ref(session, season),
            series=_title_ref(session, series) if series is not None else None,
        )
    if title.kind == "season" and title.parent_id is not None:
        series = catalog.get_title(session, title.parent_id)
        return AvailsAsset(ref, series=_title_ref(session, series))
    return AvailsAsset(ref)


def collect_export(
    session: Session, *, territory: str | None = None, licensor: str | None = None
) -> list[Avail]:
    """The windows that came from avails, as Avails to write back.

    One Avail per licensor, ALID and title; windows the operator made, which no licensor
    sent, are left out.
    """
    # Only a complete export may say Full Extract: re-importing one territory's windows as a
    # Full Extract would withdraw the licensor's other territories.
    disposition = "Update" if territory is not None else "Full Extract"
    grouped: dict[tuple[str, str, str], list[RightsWindow]] = defaultdict(list)
    for window in _exported_windows(session, territory=territory, licensor=licensor):
        grouped[(window.licensor, window.alid or "", window.title_id)].append(window)
    assets: dict[str, AvailsAsset] = {}
    avails = []
    for (owner, alid, title_id), windows in grouped.items():
        if title_id not in assets:
            assets[title_id] = _asset(session, title_id)
        asset = assets[title_id]
        avails.append(
            Avail(
                alid=alid or asset.title.content_id,
                licensor=owner,
                disposition=disposition,
                asset=asset,
                transactions=tuple(_transaction(w) for w in windows),
            )
        )
    return avails


def _transaction(window: RightsWindow) -> AvailsTransaction:
    key = window.transaction_id or window.id
    spec = rights.WindowSpec(
        territory=window.territory,
        license_type=window.license_type,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        format_cap=window.format_cap,
        audio_languages=tuple(filter(None, window.audio_languages.split(","))),
        subtitle_languages=tuple(filter(None, window.subtitle_languages.split(","))),
        licensor=window.licensor,
        transaction_id=key,
        alid=window.alid,
    )
    return AvailsTransaction(key, (AvailsWindow(key, spec),))


def export_document(
    session: Session, *, territory: str | None = None, licensor: str | None = None
) -> tuple[bytes, Sequence[Avail]]:
    """Avails XML of the stored avails windows, and the Avails it holds."""
    avails = collect_export(session, territory=territory, licensor=licensor)
    return export_avails(avails), avails
