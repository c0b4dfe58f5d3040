"""Staff admin for the core. Actions call services, so the audit log stays true."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from statux import services
from statux.audit import Actor
from statux.console.forms import AdminLoginForm
from statux.models import (
    ApiKey,
    AuditLog,
    Heartbeat,
    Invitation,
    Membership,
    NotificationPreferences,
    Organization,
    User,
)

admin.site.login_form = AdminLoginForm  # the same lockout as the console and token issuance


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "plan", "contact_email", "created_at")
    list_filter = ("plan",)
    search_fields = ("name", "slug", "contact_email")
    readonly_fields = ("id", "created_at", "updated_at")
    inlines = [MembershipInline]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "name", "is_active", "is_superuser", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("email", "name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "timezone")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role", "organization")
    search_fields = ("user__email", "organization__slug", "organization__name")
    list_select_related = ("user", "organization")
    autocomplete_fields = ("user", "organization")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "organization", "role", "state", "invited_by", "expires_at")
    list_filter = ("role", "organization")
    search_fields = ("email", "organization__slug")
    list_select_related = ("organization", "invited_by")
    readonly_fields = ("token_hash", "accepted_at", "revoked_at", "created_at")
    actions = ["revoke"]

    @admin.action(description="Revoke selected invitations")
    def revoke(self, request, queryset):
        for invitation in queryset:
            services.invitation_revoke(invitation=invitation, actor=Actor(user=request.user))
        messages.success(request, f"Revoked {queryset.count()} invitation(s).")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "key_id",
        "name",
        "organization",
        "scope",
        "prefix",
        "state",
        "last_used_at",
        "created_at",
    )
    list_filter = ("scope", "organization")
    search_fields = ("key_id", "name", "prefix", "organization__slug")
    list_select_related = ("organization", "created_by")
    readonly_fields = (
        "key_id",
        "prefix",
        "key_hash",
        "revoked_at",
        "last_used_at",
        "created_at",
        "created_by",
    )
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # keys are created through the API or console, which show the secret once

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            services.api_key_revoke(key=key, actor=Actor(user=request.user))
        messages.success(request, f"Revoked {queryset.count()} key(s).")


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "organization",
        "actor",
        "action",
        "target_type",
        "target_label",
        "ip_address",
    )
    list_filter = ("action", "organization")
    search_fields = ("actor", "action", "target_id", "target_label")
    list_select_related = ("organization",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(NotificationPreferences)
class NotificationPreferencesAdmin(admin.ModelAdmin):
    list_display = ("user", "email_enabled", "min_severity", "digest_frequency", "updated_at")
    list_filter = ("email_enabled", "min_severity", "digest_frequency")
    search_fields = ("user__email",)
    list_select_related = ("user",)


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "last_seen_at")
    search_fields = ("name",)
