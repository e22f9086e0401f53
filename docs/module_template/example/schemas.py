"""Input and output shapes (pydantic): the API returns them, pages render them."""

from pydantic import BaseModel


class OverviewRead(BaseModel):
    name: str
    roles: list[str]
