"""Fresh human text (service/experiment/corpus.py): corpus order and injection draws."""

from __future__ import annotations

from collections import Counter

from service.experiment.corpus import fresh_text, injects, next_injection

CORPUS = ["one", "two", "three", "four", "five"]


def test_each_pass_uses_every_text_once():
    texts = [fresh_text(CORPUS, 3, 0, "h0", i) for i in range(3 * len(CORPUS))]
    for start in range(0, len(texts), len(CORPUS)):
        assert sorted(texts[start : start + len(CORPUS)]) == sorted(CORPUS)


def test_sources_and_passes_have_their_own_orders():
    orders = {
        tuple(fresh_text(CORPUS, 3, 0, source, i) for i in range(offset, offset + 5))
        for source in ("h0", "h1", "h2")
        for offset in (0, 5)
    }
    assert len(orders) > 1


def test_injection_never_happens_in_round_0_or_at_rate_0():
    assert not any(injects(1.0, 1, 0, 0, f"h{i}") for i in range(50))
    assert not any(injects(0.0, 1, 0, r, "h0") for r in range(1, 50))
    assert all(injects(1.0, 1, 0, r, "h0") for r in range(1, 50))


def test_injection_happens_at_about_its_rate():
    draws = Counter(injects(0.3, 8, 0, r, f"h{i}") for r in range(1, 101) for i in range(20))
    assert 0.25 < draws[True] / 2000 < 0.35


def test_next_injection_is_the_first_round_any_source_injects():
    sources = ["h0", "h1"]
    found = next_injection(0.1, 4, 0, sources, 0, 50)
    assert found is not None
    assert any(injects(0.1, 4, 0, found, s) for s in sources)
    assert not any(injects(0.1, 4, 0, r, s) for r in range(1, found) for s in sources)
    assert next_injection(0.0, 4, 0, sources, 0, 50) is None
