"""Reading a GitHub-style ``push`` / ``repository`` webhook payload into repository fields.

Only ``payload["repository"]`` is read (GitHub sends it with both events): ``html_url``,
``name``, ``owner.login`` (``owner.name`` in older push payloads), ``default_branch``,
``language``, ``visibility`` or ``private``, ``stargazers_count``, ``forks_count``,
``open_issues_count`` and ``pushed_at`` (an ISO 8601 string in ``repository`` events, Unix
seconds in ``push`` events). Everything else is ignored, so full payloads can be passed as
they arrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NonNegativeInt, model_validator
from pydantic_core import PydanticCustomError

from project_architect_db.exceptions import ValidationError
from project_architect_db.exceptions._translate import translating
from project_architect_db.models.enums import RepositoryProvider, RepositoryVisibility

__all__ = ["GitHubWebhookPayload", "repository_fields"]

_LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z, the last Unix second datetime can hold


class _Owner(BaseModel):
    model_config = ConfigDict(extra="ignore")

    login: str | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _named(self) -> Self:
        if not (self.login or self.name):
            raise PydanticCustomError("owner_login", "owner needs a 'login' (or 'name')")
        return self


class _Repository(BaseModel):
    model_config = ConfigDict(extra="ignore")

    html_url: str
    name: str
    owner: _Owner
    default_branch: str | None = None
    language: str | None = None
    visibility: RepositoryVisibility | None = None
    private: bool | None = None
    stargazers_count: NonNegativeInt | None = None
    forks_count: NonNegativeInt | None = None
    open_issues_count: NonNegativeInt | None = None
    pushed_at: AwareDatetime | Annotated[int, Field(ge=0, le=_LAST_SECOND)] | None = None


class GitHubWebhookPayload(BaseModel):
    """The part of a GitHub ``push`` or ``repository`` webhook payload that is read."""

    model_config = ConfigDict(extra="ignore", title="GitHub webhook payload")

    repository: _Repository


def repository_fields(payload: Any) -> dict[str, Any]:
    """``RepositoryCreate`` fields (without ``project_id``) from a webhook payload.

    Raises:
        ValidationError: The payload is not a mapping or lacks what a repository needs.
    """
    if not isinstance(payload, Mapping):
        raise ValidationError(
            f"A webhook payload is a dict (the parsed JSON body), not {type(payload).__name__}."
        )
    with translating():
        parsed = GitHubWebhookPayload.model_validate(payload).repository
    fields: dict[str, Any] = {
        "url": parsed.html_url,
        "name": parsed.name,
        "owner": parsed.owner.login or parsed.owner.name,
        "provider": _provider(parsed.html_url),
    }
    if parsed.visibility is not None:
        fields["visibility"] = parsed.visibility
    elif parsed.private is not None:
        fields["visibility"] = (
            RepositoryVisibility.PRIVATE if parsed.private else RepositoryVisibility.PUBLIC
        )
    optional = {
        "default_branch": parsed.default_branch,
        "language": parsed.language,
        "stars": parsed.stargazers_count,
        "forks": parsed.forks_count,
        "open_issues": parsed.open_issues_count,
        "last_commit_at": _instant(parsed.pushed_at),
    }
    fields.update({key: value for key, value in optional.items() if value is not None})
    return fields


def _provider(url: str) -> RepositoryProvider:
    host = (urlsplit(url).hostname or "").lower()
    for provider in (RepositoryProvider.GITLAB, RepositoryProvider.BITBUCKET):
        if provider.value in host:
            return provider
    return RepositoryProvider.GITHUB  # GitHub-style payload, possibly GitHub Enterprise


def _instant(value: datetime | int | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(value, UTC)
