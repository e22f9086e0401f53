"""Pages of 共享交换 (Jinja2; every form works without JavaScript; every POST checks the CSRF token).

* data officers: requests to decide (`/exchange/requests?box=incoming`, overdue ones flagged), the
  department's own requests and filing one, grants and revocation, objections to answer;
* the operator (platform admins, auditors, leaders; data officers for their department): call
  statistics by resource, department or day with CSV export (`/exchange/stats`), every number linking
  to the calls behind it (`/exchange/calls`);
* citizens and enterprises: "who used my data" (`/me/data-use`) and the objection form.

The same service calls as the API, with the same refusals on the audit chain.
"""

from yiwang.exchange.pages import citizen, staff  # noqa: F401 - they register the routes
from yiwang.exchange.pages.common import router

__all__ = ["router"]
