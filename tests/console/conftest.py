"""Console fixtures: Django test clients logged in through the real auth backend (email + password)."""

from __future__ import annotations

import pytest
from django.test import Client

from statux.models import Membership
from statux.tenancy import Access
from tests.factories import PASSWORD


def logged_in(user) -> Client:
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    return client


def access_of(user, organization) -> Access:
    """What `user` may do in `organization`, for arranging state through services."""
    membership = Membership.objects.get(user=user, organization=organization)
    return Access(organization, membership.role, membership.level, membership.permissions)


@pytest.fixture
def owner_console(owner):
    return logged_in(owner)


@pytest.fixture
def admin_console(admin_user):
    return logged_in(admin_user)


@pytest.fixture
def operator_console(operator):
    return logged_in(operator)


@pytest.fixture
def viewer_console(viewer):
    return logged_in(viewer)
