"""HTML pages of the calls app: the agent workspace (``workspace``) and the team lead's live
board and reports (``board``). Each module lists its own ``urlpatterns``."""
