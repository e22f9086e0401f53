"""Pages of 政务信息资源目录 under `/catalog` (Jinja2; every form works without JavaScript).

* everyone on the staff: search and browse (`/catalog`), an entry (`/catalog/entries/{code}`), the
  derived lists with filters, sorting and CSV/XLSX export (`/catalog/lists/…`), the figures
  (`/catalog/rates`, every number links to the list behind it), the demand list and filing a demand;
* data officers: their department's entries (`/catalog/manage`), drafting in three steps (basic
  information → data items → check and submit), editing, mounting, grading, retiring;
* the platform operator: the review queue (`/catalog/review`) with approve / return and an opinion.

The same service calls as the API (`catalog.service`) with the same refusals (marked for the audit
chain), so a refusal on a page is audited like one on the API. Every POST checks the session's CSRF
token first.
"""

from yiwang.catalog.pages import browse, demands, manage, review  # noqa: F401 - they register the routes
from yiwang.catalog.pages.common import require_csrf, router

__all__ = ["require_csrf", "router"]
