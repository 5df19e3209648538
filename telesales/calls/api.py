from ninja import Router

router = Router(tags=["calls"])
# The softphone's endpoints: /api/v1/workspace/...
workspace_router = Router(tags=["workspace"])
