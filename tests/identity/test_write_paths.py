"""One write path per act (issue 6 item 3): creating a staff account and adding an organisation
unit each have one service function, which checks its actor; the second paths are gone. Each test
is a case the removed path let through."""

from __future__ import annotations

import pytest

from tests.helpers import audit_rows
from tests.identity.helpers import account_row
from yiwang import identity
from yiwang.core.errors import Forbidden, Invalid
from yiwang.core.ids import citizen_id_check_char
from yiwang.core.security import PLATFORM


def _cid(first17: str) -> str:
    return first17 + citizen_id_check_char(first17)


def test_the_one_staff_creation_path_refuses_an_inactive_department(db, city):
    """`create_staff_account` is the only way to make a staff account (the service beside the
    console's `create_staff` is gone): a deactivated department takes no new staff, whoever asks."""
    minzheng = city.departments["minzheng"]
    data = identity.StaffAccountCreate(
        username="li.mz", display_name="李民", citizen_id=_cid("11010519900101005"),
        department_id=minzheng, password="Yiwang-test-2026!",
    )  # fmt: skip
    with db.session() as s:
        identity.get_org_unit(s, minzheng).is_active = False
        s.flush()
        with pytest.raises(Invalid) as e:
            identity.create_staff_account(s, PLATFORM, data)
        assert e.value.errors[0].field == "department_id"
        assert identity.find_account(s, "li.mz") is None
        s.rollback()


def test_the_one_org_unit_path_checks_its_actor(db, city):
    """`create_org_unit` is the only way to add a unit (`add_org_unit`, which took no actor at all,
    is gone): only an admin of the parent's subtree adds under it, never under an inactive parent."""
    minzheng = city.departments["minzheng"]

    def unit(code: str, parent: int) -> identity.OrgUnitCreate:
        return identity.OrgUnitCreate(code=code, name="测试科", kind="unit", parent_id=parent)

    with db.session() as s:
        dept_admin = identity.build_actor(s, account_row(s, "deptadmin"))
        clerk = identity.build_actor(s, account_row(s, "clerk"))
        with pytest.raises(Forbidden):  # another department's subtree
            identity.create_org_unit(s, dept_admin, unit("t.renshe", city.departments["renshe"]))
        with pytest.raises(Forbidden):  # no administrator at all
            identity.create_org_unit(s, clerk, unit("t.clerk", minzheng))
        with pytest.raises(Forbidden):  # a top-level unit is the platform admin's alone
            identity.create_org_unit(
                s, dept_admin, identity.OrgUnitCreate(code="t.top", name="某省", kind="province")
            )
        identity.get_org_unit(s, minzheng).is_active = False
        s.flush()
        with pytest.raises(Invalid) as e:
            identity.create_org_unit(s, PLATFORM, unit("t.inactive", minzheng))
        assert e.value.errors[0].field == "parent_id"
        assert all(identity.find_org_unit_by_code(s, c) is None for c in ("t.renshe", "t.clerk", "t.top"))
        s.rollback()
    with db.session() as s:
        dept_admin = identity.build_actor(s, account_row(s, "deptadmin"))
        created = identity.create_org_unit(s, dept_admin, unit("t.ok", minzheng))
        assert created.parent_id == minzheng
    assert [r.object_id for r in audit_rows(db, "identity.org.create")][-1] == str(created.id)
