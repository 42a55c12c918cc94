"""Billing's pure rules: anniversaries in Paris, proration, VAT, numbering, dunning, states."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest

from cineflux.billing import rules
from cineflux.billing.documents import DocumentLine, InvoiceDocument, invoice_pdf
from cineflux.billing.provider import InvalidCard
from cineflux.billing.signatures import ForgedSignature, StaleWebhook, sign, verify
from cineflux.billing.simulated import SimulatedProvider, card_behaviour, luhn_valid
from cineflux.clock import FrozenClock
from cineflux.rights.chronology import PARIS


def paris(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=PARIS).astimezone(UTC)  # type: ignore[misc]


def test_renewals_keep_the_original_day_of_month_not_the_previous_one() -> None:
    anchor = paris(2026, 1, 31, 9, 30)
    renewals = [rules.anchored_instant(anchor, n) for n in range(1, 5)]
    assert renewals == [
        paris(2026, 2, 28, 9, 30),
        paris(2026, 3, 31, 9, 30),
        paris(2026, 4, 30, 9, 30),
        paris(2026, 5, 31, 9, 30),
    ]


def test_a_leap_year_renews_on_29_february() -> None:
    anchor = paris(2028, 1, 31, 0, 0)
    assert rules.anchored_instant(anchor, 1) == paris(2028, 2, 29, 0, 0)
    assert rules.anchored_instant(anchor, 2) == paris(2028, 3, 31, 0, 0)


def test_renewals_keep_the_paris_time_across_daylight_saving() -> None:
    anchor = paris(2026, 3, 15, 20, 0)  # 19:00 UTC in winter time
    after = rules.anchored_instant(anchor, 1)
    assert after == datetime(2026, 4, 15, 18, 0, tzinfo=UTC)  # 20:00 in summer time
    assert after.astimezone(PARIS).hour == 20


def test_period_bounds_follow_each_other_without_gaps() -> None:
    anchor = paris(2026, 1, 31, 12, 0)
    for number in range(24):
        _, end = rules.period_bounds(anchor, number)
        start, _ = rules.period_bounds(anchor, number + 1)
        assert end == start


@pytest.mark.parametrize(
    ("state", "event"),
    list(itertools.product(get_args(rules.State), get_args(rules.Event))),
)
def test_every_state_and_event_follows_the_table_or_is_refused(
    state: rules.State, event: rules.Event
) -> None:
    if (state, event) in rules.TRANSITIONS:
        assert rules.next_state(state, event) == rules.TRANSITIONS[(state, event)]
    else:
        with pytest.raises(rules.InvalidTransition):
            rules.next_state(state, event)


def test_ended_subscriptions_take_no_event() -> None:
    assert not [pair for pair in rules.TRANSITIONS if pair[0] in rules.ENDED_STATES]


def test_an_upgrade_costs_the_difference_for_the_rest_of_the_period() -> None:
    start, end = paris(2026, 1, 1), paris(2026, 1, 31)  # 30 days
    halfway = start + (end - start) / 2
    assert (
        rules.upgrade_amount(
            old_price=799, new_price=1999, now=halfway, period_start=start, period_end=end
        )
        == 600
    )
    ten_days_left = end - timedelta(days=10)
    # 1200 x 10/30 = 400 exactly; 600 x 10/30 = 200
    assert (
        rules.upgrade_amount(
            old_price=1399, new_price=1999, now=ten_days_left, period_start=start, period_end=end
        )
        == 200
    )


def test_proration_rounds_half_up_and_stays_within_the_period() -> None:
    hour = timedelta(hours=1)
    assert rules.prorate(1, remaining=hour, length=2 * hour) == 1  # 0.5 rounds up
    assert rules.prorate(100, remaining=hour, length=3 * hour) == 33
    assert rules.prorate(200, remaining=hour, length=3 * hour) == 67
    assert rules.prorate(500, remaining=5 * hour, length=hour) == 500
    assert rules.prorate(500, remaining=-hour, length=hour) == 0
    with pytest.raises(ValueError):
        rules.prorate(500, remaining=hour, length=timedelta(0))


@pytest.mark.parametrize(
    ("gross", "net", "vat"),
    [(799, 666, 133), (1399, 1166, 233), (1999, 1666, 333), (600, 500, 100), (3, 3, 0)],
)
def test_vat_is_taken_out_of_prices_that_include_it(gross: int, net: int, vat: int) -> None:
    assert rules.split_vat(gross) == (net, vat)


def test_net_and_vat_always_add_up_to_the_price() -> None:
    for gross in range(0, 5000):
        net, vat = rules.split_vat(gross)
        assert net + vat == gross
        assert abs(net * 12 - gross * 10) <= 6  # net is gross / 1.2 rounded to the cent


def test_invoice_numbers_and_amounts_read_the_french_way() -> None:
    assert rules.invoice_number(2026, 1) == "CFX-2026-000001"
    assert rules.invoice_number(2027, 123456) == "CFX-2027-123456"
    assert rules.format_euros(1399) == "13,99\u00a0€"
    assert rules.format_euros(123456) == "1\u202f234,56\u00a0€"


def test_retries_follow_the_schedule_and_stop_before_dunning_ends() -> None:
    since = paris(2026, 2, 15, 9)
    schedule = rules.parse_retry_days("1, 3,7,20")
    planned = [
        rules.next_retry(since, retries_done=n, retry_days=schedule, dunning_days=14)
        for n in range(5)
    ]
    assert planned == [
        since + timedelta(days=1),
        since + timedelta(days=3),
        since + timedelta(days=7),
        None,  # day 20 is past the 14 days of dunning: cancelled by then
        None,
    ]
    assert rules.dunning_deadline(since, 14) == since + timedelta(days=14)


@pytest.mark.parametrize("text", ["0,1", "3,1", "1,1", "x"])
def test_bad_retry_schedules_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        rules.parse_retry_days(text)


SECRET = b"whsec-test"
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_a_signed_webhook_verifies() -> None:
    body = b'{"id":"evt_1"}'
    header = sign(SECRET, body, int(NOW.timestamp()))
    assert verify(SECRET, body, header, now=NOW, tolerance_seconds=300) == int(NOW.timestamp())


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "v1=abc",
        "t=1772366400",
        sign(b"another secret", b'{"id":"evt_1"}', int(NOW.timestamp())),
        sign(SECRET, b'{"id":"evt_2"}', int(NOW.timestamp())),  # signs another body
    ],
)
def test_forged_or_malformed_signatures_are_refused(header: str | None) -> None:
    with pytest.raises(ForgedSignature):
        verify(SECRET, b'{"id":"evt_1"}', header, now=NOW, tolerance_seconds=300)


def test_a_signature_from_outside_the_tolerance_is_refused() -> None:
    body = b'{"id":"evt_1"}'
    old = sign(SECRET, body, int((NOW - timedelta(seconds=301)).timestamp()))
    with pytest.raises(StaleWebhook):
        verify(SECRET, body, old, now=NOW, tolerance_seconds=300)
    ahead = sign(SECRET, body, int((NOW + timedelta(seconds=301)).timestamp()))
    with pytest.raises(StaleWebhook):
        verify(SECRET, body, ahead, now=NOW, tolerance_seconds=300)


def test_any_of_several_signatures_may_match_while_a_secret_rotates() -> None:
    body = b"{}"
    good = sign(SECRET, body, int(NOW.timestamp())).split(",")[1]
    header = f"t={int(NOW.timestamp())},v1={'0' * 64},{good}"
    verify(SECRET, body, header, now=NOW, tolerance_seconds=300)


def test_only_the_simulated_providers_test_cards_are_taken() -> None:
    provider = SimulatedProvider(None, clock=FrozenClock(NOW))  # type: ignore[arg-type]
    method = provider.tokenize_card("4242 4242 4242 4242")
    assert method.label.endswith("4242")
    assert card_behaviour(method.token) == "succeed"
    assert card_behaviour(provider.tokenize_card("4000002760003184").token) == "authenticate"
    assert luhn_valid("4242424242424242") and not luhn_valid("4242424242424241")
    for number in ("4242424242424241", "5555555555554444", "abcd", ""):
        with pytest.raises(InvalidCard):
            provider.tokenize_card(number)
    with pytest.raises(InvalidCard):
        card_behaviour("pm_other_4242")


def test_an_invoice_pdf_is_a_pdf_that_names_its_number() -> None:
    document = InvoiceDocument(
        number="CFX-2026-000042",
        issued_on="15/01/2026",
        seller="Cineflux SAS · Paris",
        customer="ana@example.org",
        lines=(
            DocumentLine(
                "Abonnement Premium du 15/01/2026 au 15/02/2026",
                "20 %",
                rules.format_euros(1666),
                rules.format_euros(333),
                rules.format_euros(1999),
            ),
        ),
        net=rules.format_euros(1666),
        vat=rules.format_euros(333),
        total=rules.format_euros(1999),
        currency="EUR",
    )
    pdf = invoice_pdf(document)
    assert pdf.startswith(b"%PDF-")
    assert b"CFX-2026-000042" in pdf
    assert pdf.rstrip().endswith(b"%%EOF")
