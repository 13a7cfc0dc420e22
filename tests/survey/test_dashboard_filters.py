"""Filter values a manager can type into the dashboard's query string: each bad one gets the
friendly 400 page that names it, never a server error."""

from __future__ import annotations

import html

import pytest

from .staff import add_staff, sign_in


@pytest.fixture
def manager(app):
    with app.app_context():
        staff = add_staff()
    client = app.test_client()
    assert sign_in(client, "manager@example.org").status_code == 302
    return client, staff.clinic_a


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("from=2026-06&to=2026-01", "from 2026-06 is after to 2026-01"),
        ("wave=99999999999999999999", "wave '99999999999999999999'"),
        ("wave=abc", "wave 'abc'"),
        ("from=2026-13", "from '2026-13'"),
    ],
)
@pytest.mark.parametrize("page", ["", "/comparison", "/scores.csv"])
def test_a_bad_filter_is_a_friendly_400(manager, query, named, page):
    client, clinic_id = manager
    response = client.get(f"/dashboard/clinics/{clinic_id}{page}?{query}")
    assert response.status_code == 400
    assert "We could not use that filter" in response.text
    assert named in html.unescape(response.text)
    back = f"/dashboard/clinics/{clinic_id}" + ("" if page == "/scores.csv" else page)
    assert f'<a href="{back}">Show the page without filters</a>' in response.text
