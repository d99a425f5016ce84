from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views
from accounts.forms_auth import EmailAuthenticationForm
from traces import redaction_views

account_pages = [
    path("settings/", views.AccountSettingsView.as_view(), name="account-settings"),
    path("settings/members/", views.MembersView.as_view(), name="account-members"),
    path("settings/members/<int:pk>/role/", views.MemberActionView.as_view(action="role"), name="account-member-role"),
    path("settings/members/<int:pk>/remove/", views.MemberActionView.as_view(action="remove"),
         name="account-member-remove"),
    path("settings/api-keys/", views.ApiKeysView.as_view(), name="account-api-keys"),
    path("settings/api-keys/<int:pk>/revoke/", views.ApiKeyRevokeView.as_view(), name="account-api-key-revoke"),
    path("settings/audit/", views.AuditLogView.as_view(), name="account-audit"),
    path("settings/redaction/", redaction_views.RedactionRulesView.as_view(), name="account-redaction"),
    path("settings/redaction/<int:pk>/delete/", redaction_views.RedactionRuleDeleteView.as_view(),
         name="account-redaction-delete"),
    path("settings/delete/", views.AccountDeleteView.as_view(), name="account-delete"),
    path("settings/outbox/", include("outbox.console_urls")),
    path("registry/", include("models_registry.console_urls")),
    path("alerts/", include("alerts.console_urls")),
    path("budgets/", include("budgets.console_urls")),
    path("traces/", include("traces.console_urls")),
    path("", include("analytics.console_urls")),
]

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html",
                                                authentication_form=EmailAuthenticationForm,
                                                redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("reset/<uidb64>/<token>/", views.SetPasswordView.as_view(), name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("switch/<slug:account_slug>/", views.account_switch, name="account-switch"),
    path("a/<slug:account_slug>/", include(account_pages)),
    path("", views.home, name="home"),
]
