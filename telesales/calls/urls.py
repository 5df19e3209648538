from telesales.calls.views import board, workspace

app_name = "calls"

urlpatterns = [*workspace.urlpatterns, *board.urlpatterns]
