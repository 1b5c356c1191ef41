"""Code repository, build and deployment factories."""

# factory-boy's nested ``Meta`` / ``Params`` classes are configuration, not API to document.

from __future__ import annotations

import math
from datetime import datetime, timedelta

from project_architect_db.datagen import _text as text
from project_architect_db.datagen import _vocabulary as vocab
from project_architect_db.schemas import (
    BuildCreate,
    DeploymentCreate,
    RepositoryCreate,
    slugify,
)
from project_architect_db.testing.factories.schemas._base import (
    SchemaFactory,
    _lognormal_seconds,
    _pick,
    fb,
)
from project_architect_db.testing.factories.seeding import STATE, register_sequenced

# -- code repositories, builds, deployments -----------------------------------------------------


def _organisation() -> str:
    if STATE.random.random() < 0.5:
        return slugify(STATE.faker.company())
    codename = STATE.random.choice(vocab.CODENAMES).lower()
    return f"{codename}-{STATE.random.choice(vocab.ORG_SUFFIXES)}"


def _stars(visibility: str) -> int:
    # Long tail: most repositories have a handful, a few have thousands.
    if visibility != "public":
        return int(STATE.random.paretovariate(3.0)) - 1
    return min(250_000, int(8 * (STATE.random.paretovariate(1.1) - 1)))


def _provider() -> tuple[str, str]:
    index = text.weighted(STATE.random, range(len(vocab.PROVIDERS)), vocab.PROVIDER_WEIGHTS)
    return vocab.PROVIDERS[index], vocab.PROVIDER_HOSTS[index]


@register_sequenced
class RepositoryCreateFactory(SchemaFactory[RepositoryCreate]):
    """A GitHub/GitLab/Bitbucket repository whose provider, owner, name and url agree.

    URLs are unique until the next ``seed_factories``; stars have a long-tail distribution
    (most repositories few, some thousands), forks and open issues follow them.
    """

    class Meta:
        model = RepositoryCreate

    class Params:
        host = fb.LazyFunction(_provider)
        organisation = fb.LazyFunction(_organisation)
        repository_name = fb.LazyAttribute(
            lambda o: STATE.unique(
                f"repository:{o.host[1]}/{o.organisation}",
                f"{STATE.random.choice(vocab.CODENAMES).lower()}-"
                f"{STATE.random.choice(vocab.REPOSITORY_SUFFIXES)}",
                separator="-",
            )
        )

    project_id = fb.LazyFunction(STATE.new_id)
    url = fb.LazyAttribute(lambda o: f"{o.host[1]}/{o.organisation}/{o.repository_name}")
    provider = fb.LazyAttribute(lambda o: o.host[0])
    owner = fb.LazyAttribute(lambda o: o.organisation)
    name = fb.LazyAttribute(lambda o: o.repository_name)
    default_branch = fb.LazyFunction(lambda: _pick(("main", "master", "develop"), (85, 10, 5)))
    language = fb.LazyFunction(lambda: STATE.random.choice(vocab.LANGUAGES))
    visibility = fb.LazyFunction(lambda: _pick(("private", "internal", "public"), (60, 15, 25)))
    stars = fb.LazyAttribute(lambda o: _stars(str(o.visibility)))
    forks = fb.LazyAttribute(lambda o: int(o.stars * STATE.random.uniform(0.02, 0.25)))
    open_issues = fb.LazyAttribute(
        lambda o: int(STATE.random.paretovariate(2.0)) - 1 + int(math.sqrt(o.stars) / 2)
    )
    last_commit_at = fb.LazyFunction(
        lambda: STATE.before_now(timedelta(minutes=5), timedelta(days=45))
    )
    metadata = fb.LazyFunction(
        lambda: {
            "topics": STATE.random.sample(vocab.TAGS, k=STATE.random.randint(0, 4)),
            "archived": STATE.random.random() < 0.05,
            "has_ci": STATE.random.random() < 0.9,
        }
    )


def _commit_sha() -> str:
    return f"{STATE.random.getrandbits(160):040x}"


def _branch() -> str:
    return "main" if STATE.random.random() < 0.6 else STATE.random.choice(vocab.FEATURE_BRANCHES)


_BUILD_MEDIAN_SECONDS = {"success": 300.0, "failure": 140.0, "cancelled": 60.0}


def _build_started(status: str) -> datetime | None:
    if status == "queued":
        return None
    if status == "running":
        return STATE.before_now(timedelta(seconds=10), timedelta(minutes=20))
    return STATE.before_now(timedelta(hours=2), timedelta(days=60))


def _build_finished(status: str, started_at: datetime | None) -> datetime | None:
    if started_at is None or status not in _BUILD_MEDIAN_SECONDS:
        return None
    seconds = _lognormal_seconds(_BUILD_MEDIAN_SECONDS[status], 0.6, 7000.0)
    return started_at + timedelta(microseconds=round(seconds * 1_000_000))


@register_sequenced
class BuildCreateFactory(SchemaFactory[BuildCreate]):
    """A CI run: mostly successes, some failures, the odd cancelled / running / queued one.

    Timing follows the status: a queued build has not started, a running one has not finished,
    and ``duration_seconds`` is computed by the schema from the interval.
    """

    class Meta:
        model = BuildCreate

    repository_id = fb.LazyFunction(STATE.new_id)
    status = fb.LazyFunction(
        lambda: _pick(("success", "failure", "cancelled", "running", "queued"), (78, 14, 4, 3, 1))
    )
    commit_sha = fb.LazyFunction(_commit_sha)
    branch = fb.LazyFunction(_branch)
    started_at = fb.LazyAttribute(lambda o: _build_started(str(o.status)))
    finished_at = fb.LazyAttribute(lambda o: _build_finished(str(o.status), o.started_at))
    trigger = fb.LazyFunction(lambda: _pick(vocab.BUILD_TRIGGERS, vocab.BUILD_TRIGGER_WEIGHTS))


_TERMINAL_DEPLOYMENT = ("success", "failure", "rolled_back")


def _deployment_started(status: str) -> datetime | None:
    if status == "pending":
        return None
    if status == "in_progress":
        return STATE.before_now(timedelta(seconds=10), timedelta(minutes=10))
    return STATE.before_now(timedelta(hours=6), timedelta(days=90))


def _deployment_finished(status: str, started_at: datetime | None) -> datetime | None:
    if started_at is None or status not in _TERMINAL_DEPLOYMENT:
        return None
    seconds = _lognormal_seconds(180.0, 0.7, 3600.0)
    return started_at + timedelta(microseconds=round(seconds * 1_000_000))


def _caused_incident(environment: str, status: str) -> bool:
    if environment != "production" or status not in _TERMINAL_DEPLOYMENT:
        return False
    return STATE.random.random() < (0.06 if status == "success" else 0.45)


def _restored(caused_incident: bool, finished_at: datetime | None) -> datetime | None:
    if not caused_incident or finished_at is None:
        return None
    seconds = _lognormal_seconds(5400.0, 0.9, 4 * 3600.0)
    return finished_at + timedelta(microseconds=round(seconds * 1_000_000))


@register_sequenced
class DeploymentCreateFactory(SchemaFactory[DeploymentCreate]):
    """A deployment to staging / production (some development), for the DORA metrics.

    The commit is always authored before the deployment starts (lead time); failed or
    rolled-back production deployments often cause an incident, with ``restored_at`` hours
    later.
    """

    class Meta:
        model = DeploymentCreate

    class Params:
        lead_time = fb.LazyFunction(
            lambda: timedelta(seconds=_lognormal_seconds(6 * 3600.0, 1.0, 20 * 86400.0))
        )

    repository_id = fb.LazyFunction(STATE.new_id)
    build_id = fb.LazyFunction(lambda: STATE.new_id() if STATE.random.random() < 0.8 else None)
    environment = fb.LazyFunction(
        lambda: _pick(("staging", "production", "development"), (50, 40, 10))
    )
    status = fb.LazyFunction(
        lambda: _pick(
            ("success", "failure", "rolled_back", "in_progress", "pending"), (85, 7, 4, 2, 2)
        )
    )
    commit_sha = fb.LazyFunction(_commit_sha)
    started_at = fb.LazyAttribute(lambda o: _deployment_started(str(o.status)))
    finished_at = fb.LazyAttribute(lambda o: _deployment_finished(str(o.status), o.started_at))
    commit_at = fb.LazyAttribute(lambda o: (o.started_at or STATE.now) - o.lead_time)
    caused_incident = fb.LazyAttribute(
        lambda o: _caused_incident(str(o.environment), str(o.status))
    )
    restored_at = fb.LazyAttribute(lambda o: _restored(o.caused_incident, o.finished_at))
