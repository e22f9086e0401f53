"""The platform operator's review queue and review page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from yiwang.catalog import schemas as s
from yiwang.catalog import service, vocab
from yiwang.catalog.pages.common import (
    render,
    require_csrf,
    router,
)
from yiwang.core.deps import ActorDep, SessionDep
from yiwang.core.errors import Problem
from yiwang.core.security import Actor
from yiwang.web import (
    page_count,
    paging,
    parse,
    recoverable,
    redirect,
)

# ================================================================= the operator's review


@router.get("/review", response_class=HTMLResponse)
def review_queue(
    request: Request, session: SessionDep, actor: ActorDep, page: int = 1, size: int = 50
) -> HTMLResponse:
    page, size, offset = paging(page, size)
    result = service.review_queue(session, actor, offset=offset, limit=size)
    return render(
        request,
        actor,
        "review_queue.html",
        "目录审核",
        result=result,
        page=page,
        size=size,
        pages=page_count(result.total, size),
    )


def _review_page(
    request: Request,
    session: Session,
    actor: Actor,
    code: str,
    *,
    form: dict[str, Any] | None = None,
    errors: Any = None,
    status_code: int = 200,
) -> HTMLResponse:
    from yiwang.catalog.service.common import require_reviewer

    require_reviewer(actor, "catalog.entry.review", vocab.normalise_code(code))
    entry = service.read_entry(session, actor, code)
    timeline = service.entry_timeline(session, actor, code)
    return render(
        request,
        actor,
        "review.html",
        f"审核：{entry.name}",
        status_code=status_code,
        entry=entry,
        timeline=timeline,
        form=form or {},
        errors=errors,
    )


@router.get("/review/{code}", response_class=HTMLResponse)
def review_form(request: Request, code: str, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    return _review_page(request, session, actor, code)


@router.post("/review/{code}", response_class=HTMLResponse)
def review_submit(
    request: Request,
    code: str,
    session: SessionDep,
    actor: ActorDep,
    csrf_token: Annotated[str, Form()] = "",
    decision: Annotated[str, Form()] = "",
    opinion: Annotated[str, Form()] = "",
) -> Response:
    require_csrf(request, csrf_token)
    form = {"decision": decision, "opinion": opinion}
    try:
        review = parse(s.Review, {"decision": decision or None, "opinion": opinion})
        service.review_entry(session, actor, code, review)
    except Problem as problem:
        if not recoverable(problem):
            raise
        session.rollback()
        return _review_page(
            request, session, actor, code, form=form, errors=problem, status_code=problem.status
        )
    return redirect(f"/catalog/review?done={'approved' if review.decision == 'approve' else 'returned'}")
