"""The base of every schema block: unknown keys are errors (a misspelt key must never be ignored)."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

PosFloat = Annotated[float, Field(gt=0)]
Point = Annotated[list[float], Field(min_length=2, max_length=3)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)
