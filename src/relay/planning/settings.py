"""Config models of the planner (issue 4). Placeholder, embedded by relay.config."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrbiterStorage(_Strict):
    pass


class AssetData(_Strict):
    pass


class AssetOperations(_Strict):
    pass


class PlanningSettings(_Strict):
    pass
