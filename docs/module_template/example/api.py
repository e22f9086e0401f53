"""REST API (`/api/v1/example`): parse, call the service, return — nothing else."""

from fastapi import APIRouter

from yiwang.core.deps import ActorDep, SessionDep
from yiwang.example import schemas, service

router = APIRouter(prefix="/api/v1/example", tags=["example"])


@router.get("/overview", response_model=schemas.OverviewRead, summary="示例概览")
def overview(session: SessionDep, actor: ActorDep) -> schemas.OverviewRead:
    return service.get_overview(session, actor)
