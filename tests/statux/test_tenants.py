from statux.models import AuditLog, Organization
from usage.models import UsageMonth
from usage.selectors import current_month
from usage.services import usage_record_events


def test_superuser_lists_tenants_with_this_months_events(superuser_client, org, other_org):
    usage_record_events(organization=org, count=140)
    usage_record_events(organization=org, count=2)
    UsageMonth.objects.create(organization=other_org, month=current_month().replace(year=2020), events=999)

    response = superuser_client.get("/api/v1/tenants")

    assert response.status_code == 200
    tenants = {t["tenant_id"]: t for t in response.json()["tenants"]}
    assert set(tenants["acme"]) == {
        "tenant_id",
        "name",
        "plan",
        "contact_email",
        "created_at",
        "events_this_month",
    }
    assert (tenants["acme"]["events_this_month"], tenants["globex"]["events_this_month"]) == (142, 0)


def test_superuser_registers_a_tenant(superuser_client, superuser):
    response = superuser_client.post(
        "/api/v1/tenants",
        {
            "tenant_id": "acme-corp",
            "name": "Acme Corporation",
            "plan": "pro",
            "contact_email": "ops@acme.com",
        },
    )

    assert response.status_code == 201
    assert set(response.json()) == {"tenant_id", "created_at"}
    created = Organization.objects.get(slug="acme-corp")
    assert (created.name, created.plan, created.contact_email) == ("Acme Corporation", "pro", "ops@acme.com")
    assert AuditLog.objects.get(action="organization.created").actor == superuser.email


def test_a_taken_tenant_id_is_a_conflict(superuser_client, org):
    response = superuser_client.post("/api/v1/tenants", {"tenant_id": "acme", "name": "Again"})

    assert response.status_code == 409
    assert response.json()["error"] == "A tenant with tenant_id 'acme' exists already."


def test_a_malformed_tenant_id_is_a_field_error(superuser_client):
    response = superuser_client.post("/api/v1/tenants", {"tenant_id": "Not OK!", "name": "x", "plan": "gold"})

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"tenant_id", "plan"}


def test_tenants_need_the_super_admin_role(owner_client):
    listing = owner_client.get("/api/v1/tenants")
    creating = owner_client.post("/api/v1/tenants", {"tenant_id": "mine", "name": "Mine"})

    assert listing.status_code == creating.status_code == 403
    assert listing.json() == {"error": "This needs the Super-Admin role.", "code": "permission_denied"}
    assert not Organization.objects.filter(slug="mine").exists()


def test_concurrent_event_counts_add_up(org):
    for _ in range(5):
        usage_record_events(organization=org, count=3)

    assert UsageMonth.objects.get(organization=org).events == 15
