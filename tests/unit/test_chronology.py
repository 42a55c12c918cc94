"""The chronologie des médias, windows and holdbacks: pure decisions, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cineflux.rights.chronology import (
    FilmFacts,
    Holdback,
    Period,
    RightsPolicy,
    RightsQuestion,
    RuleSetError,
    WindowTerms,
    add_months,
    hypothetical_film_decision,
    load_rule_sets,
    paris_midnight,
    parse_rule_sets,
    rule_set_in_force,
)

RULE_SETS = tuple(load_rule_sets())


def policy(profile: str = "svod-other") -> RightsPolicy:
    return RightsPolicy(RULE_SETS, profile)


def at(day: str) -> datetime:
    return paris_midnight(date.fromisoformat(day))


def check(release: str, on: str, *, profile: str = "svod-other", license: str = "SVOD") -> bool:
    decision = hypothetical_film_decision(
        policy=policy(profile),
        territory="FR",
        license_type=license,
        release_date=date.fromisoformat(release),
        on=at(on),
    )
    return decision.available


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2024-01-15", 1, "2024-02-15"),
        ("2024-01-31", 1, "2024-02-29"),  # leap year: the month's last day
        ("2023-01-31", 1, "2023-02-28"),
        ("2023-03-31", 1, "2023-04-30"),
        ("2023-11-30", 3, "2024-02-29"),
        ("2023-12-15", 1, "2024-01-15"),  # across the year
        ("2021-05-31", 15, "2022-08-31"),
        ("2021-05-31", 17, "2022-10-31"),
        ("2020-02-29", 36, "2023-02-28"),
        ("2024-08-31", 9, "2025-05-31"),
        ("2024-05-31", 9, "2025-02-28"),
    ],
)
def test_n_months_after_is_the_same_day_or_the_months_last(
    start: str, months: int, expected: str
) -> None:
    assert add_months(date.fromisoformat(start), months) == date.fromisoformat(expected)


def test_openings_are_at_midnight_in_paris_winter_and_summer() -> None:
    assert paris_midnight(date(2025, 1, 15)) == datetime(2025, 1, 14, 23, tzinfo=UTC)
    assert paris_midnight(date(2025, 7, 15)) == datetime(2025, 7, 14, 22, tzinfo=UTC)


def test_the_rule_set_in_force_is_the_newest_already_started() -> None:
    assert rule_set_in_force(RULE_SETS, date(2009, 7, 11)) is None
    names = {
        "2009-07-12": "fr-2009",
        "2019-02-10": "fr-2009",
        "2019-02-11": "fr-2019",
        "2022-02-09": "fr-2019",
        "2022-02-10": "fr-2022",
        "2025-02-12": "fr-2022",
        "2025-02-13": "fr-2025",
        "2030-01-01": "fr-2025",
    }
    for day, name in names.items():
        found = rule_set_in_force(RULE_SETS, date.fromisoformat(day))
        assert found is not None and found.name == name, day


# A film released 2020-06-10: 15 months -> 2021-09-10, 17 -> 2021-11-10, 36 -> 2023-06-10.
@pytest.mark.parametrize(
    ("profile", "day", "available"),
    [
        ("svod-signatory", "2022-02-09", False),  # fr-2019: 36 months
        ("svod-signatory", "2022-02-10", True),  # fr-2022: 15 months passed long ago
        ("svod-other", "2022-02-09", False),
        ("svod-other", "2022-02-10", True),
        ("svod-investor", "2022-02-09", False),
        ("svod-investor", "2022-02-10", True),
    ],
)
def test_the_2022_transition_opens_svod_the_day_it_comes_into_force(
    profile: str, day: str, available: bool
) -> None:
    assert check("2020-06-10", day, profile=profile) is available


def test_the_2019_transition_changed_no_svod_delay() -> None:
    for day in ("2019-02-10", "2019-02-11"):
        assert not check("2017-01-01", day)  # opens 2020-01-01 under both
    assert check("2015-01-01", "2019-02-10") and check("2015-01-01", "2019-02-11")


def test_the_2025_transition_opens_svod_at_nine_months_for_investors_only() -> None:
    # Released 2024-03-01: 9 months -> 2024-12-01, 15 -> 2025-06-01, 17 -> 2025-08-01.
    assert not check("2024-03-01", "2025-02-12", profile="svod-investor")  # fr-2022: 17
    assert check("2024-03-01", "2025-02-13", profile="svod-investor")
    assert not check("2024-03-01", "2025-02-13", profile="svod-signatory")
    assert not check("2024-03-01", "2025-02-13", profile="svod-other")
    assert check("2024-03-01", "2025-06-01", profile="svod-signatory")
    assert not check("2024-03-01", "2025-07-31", profile="svod-other")
    assert check("2024-03-01", "2025-08-01", profile="svod-other")


def test_svod_opens_at_midnight_paris_on_the_day() -> None:
    decision = hypothetical_film_decision(
        policy=policy("svod-signatory"),
        territory="FR",
        license_type="SVOD",
        release_date=date(2024, 1, 31),
        on=at("2025-04-30") - timedelta(seconds=1),
    )
    assert not decision.available
    assert decision.opens_at == at("2025-04-30")  # 15 months after Jan 31: April's last day
    assert decision.to_json()["opens"] == "2025-04-30"
    assert decision.rule_set == "fr-2025"
    after = hypothetical_film_decision(
        policy=policy("svod-signatory"),
        territory="FR",
        license_type="SVOD",
        release_date=date(2024, 1, 31),
        on=at("2025-04-30"),
    )
    assert after.available and after.closes_at is None


def test_transactional_vod_opens_four_months_after_release() -> None:
    assert not check("2025-01-10", "2025-05-09", license="TVOD")
    assert check("2025-01-10", "2025-05-10", license="TVOD")
    assert check("2025-01-10", "2025-05-10", license="EST")


def test_free_tv_broadcast_holds_svod_back_until_a_month_after_it() -> None:
    facts = FilmFacts(date(2021, 1, 15), first_free_tv_broadcast=date(2023, 3, 3))
    window = WindowTerms("FR", "SVOD", at("2021-01-15"), None)
    question = RightsQuestion(facts, [window], policy(), "FR", "SVOD")
    assert question.state_at(at("2022-06-15")).available  # 17 months passed, before free TV
    held = question.state_at(at("2022-11-15"))  # the free-TV window opens at 22 months
    assert not held.available and "free-TV" in held.reason
    assert not question.state_at(at("2023-04-02")).available
    assert question.state_at(at("2023-04-03")).available
    assert question.intervals() == [
        Period(at("2022-06-15"), at("2022-11-15")),
        Period(at("2023-04-03"), None),
    ]
    decision = question.decide(at("2022-12-01"))
    assert decision.opens_at == at("2023-04-03")


def test_without_a_broadcast_there_is_no_free_tv_holdback() -> None:
    window = WindowTerms("FR", "SVOD", at("2021-01-15"), None)
    question = RightsQuestion(FilmFacts(date(2021, 1, 15)), [window], policy(), "FR", "SVOD")
    assert question.state_at(at("2022-11-15")).available


def test_a_window_holdback_withdraws_the_title_inside_the_window() -> None:
    holdback = Holdback(at("2024-03-01"), at("2024-04-01"), reason="festival exclusivity")
    window = WindowTerms("DE", "SVOD", at("2024-01-01"), at("2025-01-01"), holdbacks=(holdback,))
    question = RightsQuestion(FilmFacts(), [window], policy(), "DE", "SVOD")
    state = question.state_at(at("2024-03-15"))
    assert not state.available and "festival exclusivity" in state.reason
    assert question.intervals() == [
        Period(at("2024-01-01"), at("2024-03-01")),
        Period(at("2024-04-01"), at("2025-01-01")),
    ]
    decision = question.decide(at("2024-02-01"))
    assert decision.available and decision.closes_at == at("2024-03-01")


def test_the_chronologie_applies_only_to_films_released_in_french_cinemas_in_france() -> None:
    window_fr = WindowTerms("FR", "SVOD", at("2024-01-01"), None)
    window_be = WindowTerms("BE", "SVOD", at("2024-01-01"), None)
    recent = FilmFacts(date(2024, 1, 1))
    assert (
        not RightsQuestion(recent, [window_fr], policy(), "FR", "SVOD")
        .state_at(at("2024-06-01"))
        .available
    )
    # Same film in Belgium: French rules do not apply.
    assert (
        RightsQuestion(recent, [window_be], policy(), "BE", "SVOD")
        .state_at(at("2024-06-01"))
        .available
    )
    # Never released in cinemas (a series, a streaming original): no delay.
    assert (
        RightsQuestion(FilmFacts(), [window_fr], policy(), "FR", "SVOD")
        .state_at(at("2024-06-01"))
        .available
    )


def test_no_window_means_not_available_whatever_the_chronologie() -> None:
    question = RightsQuestion(FilmFacts(date(2000, 1, 1)), [], policy(), "FR", "SVOD")
    decision = question.decide(at("2024-01-01"))
    assert not decision.available and "no SVOD licence window" in decision.reason
    assert decision.opens_at is None


def test_availability_merges_across_rule_set_changes_and_adjacent_windows() -> None:
    facts = FilmFacts(date(2015, 1, 1))
    windows = [
        WindowTerms("FR", "SVOD", at("2017-01-01"), at("2020-01-01")),
        WindowTerms("FR", "SVOD", at("2020-01-01"), at("2026-01-01"), format_cap="UHD"),
    ]
    question = RightsQuestion(facts, windows, policy(), "FR", "SVOD")
    # 36 months under fr-2009 -> 2018-01-01; then continuous until the second window ends.
    assert question.intervals() == [Period(at("2018-01-01"), at("2026-01-01"))]
    assert question.decide(at("2021-01-01")).format_cap == "UHD"
    assert question.decide(at("2019-01-01")).format_cap == "HD"


def test_the_best_format_of_overlapping_windows_applies() -> None:
    windows = [
        WindowTerms("IT", "SVOD", at("2024-01-01"), None, format_cap="SD"),
        WindowTerms("IT", "SVOD", at("2024-06-01"), at("2024-07-01"), format_cap="UHD"),
    ]
    question = RightsQuestion(FilmFacts(), windows, policy(), "IT", "SVOD")
    assert question.decide(at("2024-06-15")).format_cap == "UHD"
    assert question.decide(at("2024-07-15")).format_cap == "SD"


def test_an_expired_window_neither_opens_nor_closes() -> None:
    window = WindowTerms("ES", "SVOD", at("2020-01-01"), at("2021-01-01"))
    decision = RightsQuestion(FilmFacts(), [window], policy(), "ES", "SVOD").decide(
        at("2024-01-01")
    )
    assert not decision.available and decision.opens_at is None and decision.closes_at is None


def test_licence_types_are_decided_separately() -> None:
    window = WindowTerms("FR", "TVOD", at("2024-01-01"), None)
    svod = RightsQuestion(FilmFacts(), [window], policy(), "FR", "SVOD")
    assert not svod.state_at(at("2024-06-01")).available


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"in_force_from": "2030-01-01", "source": "x"}, "needs 'name'"),
        ({"name": "x", "in_force_from": "2030-13-01", "source": "x"}, "month"),
        ({"name": "x", "in_force_from": "2030-01-01"}, "needs a source"),
        (
            {"name": "x", "in_force_from": "2030-01-01", "source": "s", "months": {"SVOD": 3}},
            "svod_months",
        ),
        (
            {
                "name": "x",
                "in_force_from": "2030-01-01",
                "source": "s",
                "svod_months": {"svod-pirate": 1},
            },
            "unknown platform profile",
        ),
        (
            {"name": "x", "in_force_from": "2030-01-01", "source": "s", "months": {"TVOD": -1}},
            "negative",
        ),
    ],
)
def test_bad_rule_sets_are_refused_with_the_reason(
    document: dict[str, object], message: str
) -> None:
    with pytest.raises(RuleSetError, match=message):
        parse_rule_sets(document)


def test_two_rule_sets_cannot_start_the_same_day() -> None:
    one = {"name": "a", "in_force_from": "2030-01-01", "source": "s"}
    two = {"name": "b", "in_force_from": "2030-01-01", "source": "s"}
    with pytest.raises(RuleSetError, match="same day"):
        parse_rule_sets({"rule_sets": [one, two]})


def test_an_unknown_platform_profile_is_refused() -> None:
    with pytest.raises(RuleSetError, match="platform profile"):
        RightsPolicy(RULE_SETS, "svod-maybe")
