"""The correlation learner on synthetic histories: lead and lag, independence, noise, bursts."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from analyses.correlations import (
    CorrelationEdge,
    binomial_tail,
    correlation_edges,
    failure_episodes,
    lag_histograms,
)
from tests.correlations.conftest import START

DAYS = 30


def random_starts(rng: random.Random, count: int, days: int = DAYS) -> list[datetime]:
    return [START + timedelta(seconds=rng.uniform(0, days * 86400)) for _ in range(count)]


def following(
    starts: list[datetime], rng: random.Random, minutes: float, jitter_seconds: float = 20
) -> list[datetime]:
    return [
        start + timedelta(minutes=minutes, seconds=rng.uniform(-jitter_seconds, jitter_seconds))
        for start in starts
    ]


def edges_by_pair(edges: list[CorrelationEdge]) -> dict[tuple[str, str], CorrelationEdge]:
    return {(edge.service, edge.related_service): edge for edge in edges}


def test_a_leading_b_by_two_minutes_makes_b_downstream_of_a_and_a_upstream_of_b():
    rng = random.Random(6)
    a = random_starts(rng, 40)

    edges = edges_by_pair(correlation_edges({"a": a, "b": following(a, rng, 2)}))

    downstream, upstream = edges[("a", "b")], edges[("b", "a")]
    assert (downstream.lag_minutes, downstream.direction, downstream.support) == (2, "downstream", 40)
    assert (upstream.lag_minutes, upstream.direction, upstream.support) == (-2, "upstream", 40)
    assert downstream.correlation_score == upstream.correlation_score >= 0.95


def test_the_pair_order_does_not_matter_to_the_answer():
    rng = random.Random(7)
    leader = random_starts(rng, 30)

    edges = edges_by_pair(correlation_edges({"zeta": leader, "alpha": following(leader, rng, 4)}))

    assert (edges[("zeta", "alpha")].lag_minutes, edges[("alpha", "zeta")].direction) == (4, "upstream")


def test_independent_services_get_no_edge():
    rng = random.Random(11)

    for seed_count in (20, 40, 80):
        starts = {name: random_starts(rng, seed_count) for name in ("a", "b", "c", "d")}
        assert correlation_edges(starts) == []


def test_independent_services_failing_often_get_no_edge_either():
    # Dense: hundreds of coincidences at every lag by chance alone; only an excess over chance counts.
    rng = random.Random(12)

    starts = {"a": random_starts(rng, 400, days=2), "b": random_starts(rng, 400, days=2)}

    assert correlation_edges(starts) == []


def test_a_true_relation_survives_30_percent_random_extra_incidents_with_a_lower_score():
    rng = random.Random(13)
    a = random_starts(rng, 40)
    clean = edges_by_pair(correlation_edges({"a": a, "b": following(a, rng, 2)}))

    noisy_a = a + random_starts(rng, 12)
    noisy_b = following(a, rng, 2) + random_starts(rng, 12)
    noisy = edges_by_pair(correlation_edges({"a": noisy_a, "b": noisy_b}))

    assert (noisy[("a", "b")].lag_minutes, noisy[("a", "b")].direction) == (2, "downstream")
    assert 0.5 <= noisy[("a", "b")].correlation_score < clean[("a", "b")].correlation_score


def test_only_the_related_pair_of_many_services_is_linked():
    rng = random.Random(14)
    db = random_starts(rng, 30)
    starts = {
        "db": db,
        "api": following(db, rng, 3),
        **{f"svc-{n}": random_starts(rng, 30) for n in range(8)},
    }

    edges = correlation_edges(starts)

    assert {(edge.service, edge.related_service, edge.lag_minutes) for edge in edges} == {
        ("db", "api", 3),
        ("api", "db", -3),
    }


def test_a_pair_failing_in_the_same_minute_is_concurrent():
    rng = random.Random(15)
    a = random_starts(rng, 25)

    edges = edges_by_pair(correlation_edges({"a": a, "b": following(a, rng, 0, jitter_seconds=10)}))

    assert (edges[("a", "b")].lag_minutes, edges[("a", "b")].direction) == (0, "concurrent")


def test_two_coincidences_are_not_enough_support():
    a = [START + timedelta(days=day) for day in (1, 9)]

    assert correlation_edges({"a": a, "b": [start + timedelta(minutes=2) for start in a]}) == []


def test_a_burst_of_starts_counts_as_one_failure():
    burst = [START + timedelta(seconds=seconds) for seconds in (0, 20, 45, 110, 400)]

    assert failure_episodes(burst) == [
        START.timestamp(),
        (START + timedelta(seconds=110)).timestamp(),
        (START + timedelta(seconds=400)).timestamp(),
    ]


def test_lags_are_binned_by_whole_minutes_within_ten_minutes():
    t = START.timestamp()
    episodes = {"a": [t], "b": [t + 125, t + 629, t + 640], "c": [t - 61]}

    histograms = lag_histograms(episodes)

    assert histograms[("a", "b")] == {2: 1, 10: 1}  # 640 s is beyond reach
    assert histograms[("a", "c")] == {-1: 1}
    assert histograms[("b", "c")] == {-3: 1}  # c's start 186 s before b's first


def test_the_binomial_tail_matches_a_hand_computed_case():
    assert abs(binomial_tail(3, 3, 0.5) - 0.125) < 1e-12
    assert abs(binomial_tail(2, 3, 0.5) - 0.5) < 1e-12  # at the mean: never significant
    assert binomial_tail(40, 40, 0.003) < 1e-90
