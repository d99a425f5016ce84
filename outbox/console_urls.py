from django.urls import path

from outbox import views

urlpatterns = [
    path("", views.OutboxView.as_view(), name="outbox"),
    path("<int:pk>/", views.OutboxMessageView.as_view(), name="outbox-message"),
    path("<int:pk>/html/", views.OutboxMessageHtmlView.as_view(), name="outbox-message-html"),
    path("<int:pk>/parts/<path:cid>", views.OutboxMessagePartView.as_view(), name="outbox-message-part"),
]
