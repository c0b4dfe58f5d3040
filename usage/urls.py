# URL patterns of this app, one list per surface; statux/urls.py includes them.
from statux.api.base import both_slashes
from usage import api

urlpatterns = [
    *both_slashes("api/v1/organizations/<str:org_id>/usage", api.StatuxUsageApi.as_view(), "statux-usage"),
    *both_slashes("api/v1/users/me/subscription", api.StatuxSubscriptionApi.as_view(), "statux-subscription"),
    *both_slashes(
        "api/v1/users/me/subscription/checkout",
        api.StatuxSubscriptionCheckoutApi.as_view(),
        "statux-subscription-checkout",
    ),
    *both_slashes(
        "api/v1/users/me/subscription/portal",
        api.StatuxSubscriptionPortalApi.as_view(),
        "statux-subscription-portal",
    ),
    *both_slashes(
        "api/v1/billing/stripe/webhook", api.StatuxStripeWebhookApi.as_view(), "statux-stripe-webhook"
    ),
]
