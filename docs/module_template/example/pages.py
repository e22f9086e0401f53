"""Pages (`/example`): the same service calls as the API, rendered in the kit's layout."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from yiwang.core.deps import ActorDep, SessionDep
from yiwang.example import service
from yiwang.web import render

router = APIRouter(prefix="/example", include_in_schema=False)
DONE = {"saved": "已保存。"}  # notices after a POST → 303 → GET, looked up by `?done=saved`


@router.get("", response_class=HTMLResponse)
def index(request: Request, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    overview = service.get_overview(session, actor)
    return render(request, "example/index.html", "示例模块", done=DONE, overview=overview)
