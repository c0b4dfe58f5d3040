"""RCA rows for tests that need one without caring how it came about; API tests go through the API."""

import factory

from rca.models import Rca, RcaActionItem
from tests.factories import OrganizationFactory


class RcaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rca

    organization = factory.SubFactory(OrganizationFactory)
    title = factory.Sequence(lambda n: f"Checkout outage #{n}")
    created_by_label = "system:test"


class RcaActionItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RcaActionItem

    rca = factory.SubFactory(RcaFactory)
    organization = factory.SelfAttribute("rca.organization")
    title = factory.Sequence(lambda n: f"Follow-up #{n}")
