"""True provenance tags (service/provenance/tags.py): generations, roots as bits, human share."""

from __future__ import annotations

import pytest

from service.provenance.tags import Carried, human_tags, model_tags, root_bits


def carried(mid: str, origin: str, generation: int, min_generation: int, roots: int) -> Carried:
    return Carried(mid, "text", origin, generation, min_generation, roots, 0)


def test_a_human_text_is_its_own_root():
    tags = human_tags(7)
    assert (tags.origin, tags.generation, tags.min_generation, tags.roots) == (
        "human",
        0,
        0,
        1 << 7,
    )
    assert tags.human_input_share is None


def test_a_model_text_unites_its_parents_roots_and_counts_both_path_lengths():
    parents = [
        carried("h", "human", 0, 0, 0b001),
        carried("m", "model", 3, 1, 0b110),
    ]
    tags = model_tags(parents)
    assert tags.roots == 0b111
    assert (tags.generation, tags.min_generation) == (4, 1)
    assert tags.parents == ("h", "m")
    assert tags.human_input_share == 0.5


def test_a_model_text_needs_a_parent():
    with pytest.raises(ValueError, match="at least one parent"):
        model_tags([])


def test_root_bits_list_the_lowest_bits_first_and_count_them_all():
    roots = (1 << 0) | (1 << 5) | (1 << 200) | (1 << 7000)
    assert root_bits(roots, 3) == ([0, 5, 200], 4)
    assert root_bits(roots, 10) == ([0, 5, 200, 7000], 4)
    assert root_bits(roots, 0) == ([], 4)
    assert root_bits(0, 10) == ([], 0)


def test_root_bits_of_a_dense_set():
    roots = (1 << 5000) - 1
    listed, count = root_bits(roots, 100)
    assert listed == list(range(100)) and count == 5000
