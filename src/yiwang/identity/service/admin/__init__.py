"""The administrator's console (A4, A5): organisation tree, staff accounts, roles, OIDC clients.

Every function takes `(session, actor, …)`, checks permission first, validates, writes, and appends an
audit record for each change (DESIGN §3 rules 2 and 3). REST (`identity/admin_api.py`), pages
(`identity/admin_pages.py`), the CLI and tests all call these functions, so they reach one decision.

Who may do what
    * A platform admin (平台管理员) administers the whole tree, every staff account and every client,
      and may search citizen accounts (by name or username; citizen IDs come back masked).
    * A department admin (部门管理员) administers the subtrees of the units where they hold the role:
      units below them, the staff whose department lies there, and roles valid there. They never see
      citizen accounts, and never touch an account that holds 平台管理员.
    * Everyone else is refused with 403.

Viewing accounts is an access to personal data (PIPL): every list, export and detail view appends
an audit record whose `purpose` names the search terms (who looked for whom, and how). Refusals are
audited too, after the refused command's transaction has rolled back (see `common.py`).

The package, by topic:

    common.py           console access, a department admin's scope, refusal auditing
    overview.py         the front page's counts
    org.py              the organisation tree
    accounts.py         reading accounts: list, export, detail
    account_changes.py  creating staff, (de)activating, unlocking, resetting passwords
    roles.py            roles, their holders, revoking (granting is `accounts.grant_role`)
    clients.py          read models of the OIDC clients (their commands are in `service/oidc`)

Callers import from here (`from yiwang.identity.service import admin`), not from the modules.
"""

from yiwang.identity.service.admin.account_changes import (
    create_staff_account,
    reset_password,
    set_account_active,
    unlock_account,
)
from yiwang.identity.service.admin.accounts import (
    CITIZEN_ID_PREFIX,
    EXPORT_MAX_ROWS,
    account_filters,
    export_accounts,
    get_account_detail,
    list_accounts,
)
from yiwang.identity.service.admin.clients import client_reads
from yiwang.identity.service.admin.common import (
    CONSOLE_ROLES,
    record_admin_refusal,
    refusals_audited,
    require_console,
)
from yiwang.identity.service.admin.org import (
    administrable_units,
    create_org_unit,
    get_org_unit_read,
    org_tree,
    update_org_unit,
)
from yiwang.identity.service.admin.overview import overview
from yiwang.identity.service.admin.roles import (
    grantable_roles,
    list_roles,
    revoke_account_role,
    role_grant_read,
)

__all__ = [
    # common
    "CONSOLE_ROLES",
    "record_admin_refusal",
    "refusals_audited",
    "require_console",
    # overview
    "overview",
    # organisation tree
    "administrable_units",
    "create_org_unit",
    "get_org_unit_read",
    "org_tree",
    "update_org_unit",
    # accounts
    "CITIZEN_ID_PREFIX",
    "EXPORT_MAX_ROWS",
    "account_filters",
    "create_staff_account",
    "export_accounts",
    "get_account_detail",
    "list_accounts",
    "reset_password",
    "set_account_active",
    "unlock_account",
    # roles
    "grantable_roles",
    "list_roles",
    "revoke_account_role",
    "role_grant_read",
    # OIDC clients
    "client_reads",
]
