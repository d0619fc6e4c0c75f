"""The API's typed request bodies (ninja schemas; an unknown field is refused).

Times and cells are taken as text and read by relay's own readers, so that a time without
a zone or a name not in the scenario answers the command line's message.  The record
bodies (:data:`ENTRY_IN`) are made from the columns of each CSV file.
"""
from __future__ import annotations

from typing import Literal, Optional, Union

from ninja import Schema
from pydantic import ConfigDict, create_model

from .engine import COLUMNS

Cell = Union[str, int, float]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Strict):
    username: str
    password: str


class TokenIn(Strict):
    name: str = "script"


class SeenIn(Strict):
    """The notifications to mark seen (their ids; every unseen one when left out)."""
    ids: Optional[list[int]] = None


class TeamIn(Strict):
    name: str
    kind: Literal["orbiter", "lander"]
    names: list[str]


class UserIn(Strict):
    username: str
    password: str
    role: Literal["coordinator", "orbiter", "lander", "viewer", "admin"]
    team: Optional[str] = None


class ScenarioIn(Strict):
    name: str
    text: str


class CycleIn(Strict):
    name: str
    scenario: int
    start: str
    days: float = 7.0
    deadline: Optional[str] = None


class CyclePatch(Strict):
    version: int
    name: Optional[str] = None
    status: Optional[Literal["open", "planned", "published", "closed"]] = None
    deadline: Optional[str] = None


class EntryPatch(Strict):
    version: int
    fields: dict[str, Cell]


class VersionIn(Strict):
    version: int


class RunIn(Strict):
    mode: Literal["auto", "full"] = "auto"


class PublishIn(Strict):
    version: int
    comment: str = ""


class CommentIn(Strict):
    target: Literal["entry", "plan"]
    target_id: int
    text: str


class CommentPatch(Strict):
    version: int
    text: str


def entry_schema(kind: str):
    """The body of one record of ``kind``: ``cycle`` and the columns of its CSV file (text)."""
    fields = {"cycle": (int, ...)}
    required = {"outage": ("target", "what", "start", "end"), "request": ("id", "asset"),
                "veto": (), "lock": ("orbiter", "asset", "start", "end"),
                "booking": ("orbiter", "station", "start", "end"), "backlog": ("asset", "time", "backlog_mbit")}[kind]
    for c in COLUMNS[kind]:
        fields[c] = (Cell, ...) if c in required else (Optional[Cell], None)
    return create_model(f"{kind.title()}In", __base__=Strict, **fields)


#: kind -> its body schema
ENTRY_IN = {kind: entry_schema(kind) for kind in COLUMNS}
