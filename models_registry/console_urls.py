from django.urls import path

from models_registry import views

urlpatterns = [path("", views.RegistryListView.as_view(kind="models", model=views.KINDS["models"]["model"]),
                    name="registry")]
for kind, spec in views.KINDS.items():
    urlpatterns += [
        path(f"{kind}/", views.RegistryListView.as_view(kind=kind, model=spec["model"]), name=f"registry-{kind}"),
        path(f"{kind}/<int:pk>/", views.RegistryEditView.as_view(kind=kind, model=spec["model"]),
             name=f"registry-{kind}-edit"),
        path(f"{kind}/<int:pk>/delete/", views.RegistryDeleteView.as_view(kind=kind, model=spec["model"]),
             name=f"registry-{kind}-delete"),
    ]
