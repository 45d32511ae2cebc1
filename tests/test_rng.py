"""Derived random streams (service/experiment/rng.py): a pure function of their inputs."""

from __future__ import annotations

from service.experiment.rng import Purpose, backend_seed, derive_seed, rng_for


def test_a_seed_depends_only_on_its_inputs():
    assert derive_seed(5, 0, 3, "a1", Purpose.POLICY) == derive_seed(5, 0, 3, "a1", Purpose.POLICY)
    assert 0 <= derive_seed(5, 0, 3, "a1", Purpose.POLICY) < 2**63


def test_every_input_changes_the_seed():
    base = (5, 0, 3, "a1", Purpose.POLICY)
    variants = [
        (6, 0, 3, "a1", Purpose.POLICY),
        (5, 1, 3, "a1", Purpose.POLICY),
        (5, 0, 4, "a1", Purpose.POLICY),
        (5, 0, 3, "a2", Purpose.POLICY),
        (5, 0, 3, "a1", Purpose.DELIVERY),
    ]
    seeds = {derive_seed(*base), *(derive_seed(*v) for v in variants)}
    assert len(seeds) == 1 + len(variants)


def test_fields_cannot_run_into_each_other():
    """Round 1 of node "23" and round 12 of node "3" are different streams."""
    assert derive_seed(1, 0, 1, "23", Purpose.POLICY) != derive_seed(1, 0, 12, "3", Purpose.POLICY)


def test_generators_repeat_their_draws():
    first = [rng_for(9, 0, 2, "n", Purpose.SAMPLE).random() for _ in range(2)]
    assert first[0] == first[1]


def test_backend_seeds_fit_31_bits():
    seeds = [
        backend_seed(
            7,
            0,
            r,
            f"a{i}",
        )
        for r in range(20)
        for i in range(20)
    ]
    assert all(0 <= s < 2**31 for s in seeds)
    assert len(set(seeds)) == len(seeds)
