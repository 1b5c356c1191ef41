"""Type variables shared across the package (one place, named ``...T``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from project_architect_db.models.base import Base
    from project_architect_db.schemas.common import CreateSchema, ReadSchema, UpdateSchema

__all__ = ["CreateT", "ItemT", "ModelT", "ReadT", "UpdateT"]

ModelT = TypeVar("ModelT", bound="Base")
CreateT = TypeVar("CreateT", bound="CreateSchema")
UpdateT = TypeVar("UpdateT", bound="UpdateSchema")
ReadT = TypeVar("ReadT", bound="ReadSchema")
ItemT = TypeVar("ItemT")
