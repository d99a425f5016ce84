from django.urls import path

from traces.explorer import views

urlpatterns = [
    path("", views.TracesPageView.as_view(), name="traces"),
    path("preferences/", views.ExplorerPreferencesView.as_view(), name="traces-preferences"),
    path("exports/<int:pk>/download/", views.ExportDownloadView.as_view(), name="traces-export-download"),
]
