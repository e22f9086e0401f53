from tests.helpers import admin_h, citizen_h, officer_h  # noqa: F401 - fixtures
