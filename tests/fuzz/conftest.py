from tests.helpers import admin_h, citizen_h  # noqa: F401 - fixtures
