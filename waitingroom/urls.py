from django.urls import path

from waitingroom import views

app_name = "waitingroom"

# Under the language prefix (French at /salle-attente/, English at /en/salle-attente/); the
# middleware never queues these paths.
urlpatterns = [
    path("", views.queue_page, name="queue"),
    path("code/", views.priority_code_page, name="priority-code"),
    path("etat/", views.room_status_page, name="status"),
]
