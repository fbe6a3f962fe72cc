"""service.search: which pieces of a term a PostgreSQL search asks its trigram index for, given the pieces
most documents hold. Whatever is asked must be held by every document that holds the term, or a search
would miss problems."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.search import MAX_PIECES, parse, pieces, rarer_pieces

pytestmark = pytest.mark.unit


def test_pieces_are_the_terms_three_character_windows_of_word_characters_in_lower_case():
    assert pieces("基准问题42") == ["基准问", "准问题", "问题4", "题42"]
    assert pieces("ABCab") == ["abc", "bca", "cab"]
    assert pieces("abcabc") == ["abc", "bca", "cab"]  # each once, in order
    # A window holding punctuation, a space or an emoji is no piece: the trigram index finds no trigram in it
    # and would read every entry.
    assert pieces("a-b12") == ["b12"]
    assert pieces("泵站😀用地") == []
    assert pieces("ab") == []


def test_a_term_with_common_and_rarer_pieces_is_asked_by_the_rarer_and_checked_whole():
    common = {"基准问": 1.0, "准问题": 1.0, "问题4": 0.1}
    assert rarer_pieces("基准问题4242", common) == ("题42", "424", "242")
    assert parse("基准问题4242 泵站用地").lookup(common) == (("题42", "424", "242", "泵站用地"), ("基准问题4242",))


def test_a_term_whose_pieces_are_all_rare_or_all_common_is_asked_whole():
    assert rarer_pieces("泵站用地", {"基准问": 1.0}) is None
    assert rarer_pieces("基准问题", {"基准问": 1.0, "准问题": 1.0}) is None  # the whole narrows the most
    assert rarer_pieces("a-b", {"a-b": 1.0}) is None
    assert parse("泵站用地").lookup({}) == (("泵站用地",), ())


def test_at_most_a_few_rarer_pieces_are_asked():
    term = "阳城县东关泵站用地预审"
    assert len(rarer_pieces(term, {"阳城县": 0.9}) or ()) == MAX_PIECES


def test_short_terms_are_not_looked_up():
    common = {"基准问": 1.0, "准问题": 1.0, "问题4": 0.1}
    assert parse("泵站 基准问题4242").lookup(common) == (("题42", "424", "242"), ("基准问题4242",))


@given(st.text(min_size=3, max_size=30), st.data())
def test_every_piece_asked_is_held_by_any_text_holding_the_term(term, data):
    found = pieces(term)
    common = {p: 0.5 for p in data.draw(st.lists(st.sampled_from(found), unique=True))} if found else {}
    asked = rarer_pieces(term, common)
    for piece in asked or ():
        assert piece in term.lower() and piece not in common
