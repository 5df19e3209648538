from telesales.calls.views import board, followups, workspace

app_name = "calls"

urlpatterns = [*workspace.urlpatterns, *board.urlpatterns, *followups.urlpatterns]
