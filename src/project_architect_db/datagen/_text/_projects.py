"""Project names, stacks, architectures and profiles."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from project_architect_db.datagen import _vocabulary as vocab
from project_architect_db.datagen._text._common import weighted
from project_architect_db.schemas.common import slugify

# -- projects -----------------------------------------------------------------------------------


def person_name(rng: random.Random) -> str:
    """A person's full name: ``"Priya Nakamura"``."""
    return f"{rng.choice(vocab.FIRST_NAMES)} {rng.choice(vocab.LAST_NAMES)}"


def company_name(rng: random.Random) -> str:
    """A company's name: ``"Northwind Logistics GmbH"``."""
    return (
        f"{rng.choice(vocab.COMPANY_WORDS)} {rng.choice(vocab.COMPANY_KINDS)} "
        f"{rng.choice(vocab.COMPANY_SUFFIXES)}"
    )


def project_name(rng: random.Random) -> str:
    """A product-like name: ``"Atlas Billing Platform"``."""
    return f"{rng.choice(vocab.CODENAMES)} {rng.choice(vocab.DOMAINS)} {rng.choice(vocab.KINDS)}"


@dataclass(frozen=True)
class Stack:
    """A coherent technology choice for one project."""

    language: str
    framework: str
    database: str
    cache: str | None
    messaging: str | None
    frontend: str | None
    cloud: str
    infra: tuple[str, ...]
    observability: tuple[str, ...]
    style: str
    deployment: str

    def tech_stack(self) -> list[str]:
        """The stack as the ``tech_stack`` list of a project (no duplicates)."""
        items = [self.framework, self.language, self.database]
        items += [x for x in (self.cache, self.messaging, self.frontend) if x is not None]
        items += [*self.infra, *self.observability]
        return list(dict.fromkeys(items))


def random_stack(rng: random.Random) -> Stack:
    """A plausible stack: one backend framework, a database, maybe a cache, a broker, a UI."""
    language, framework = weighted(rng, vocab.BACKENDS, vocab.BACKEND_WEIGHTS)
    cloud = rng.choice(("AWS", "AWS", "AWS", "Google Cloud", "Azure"))
    infra = ["Docker", cloud, *rng.sample(("Kubernetes", "Terraform", "GitHub Actions", "Helm",
                                           "Argo CD", "GitLab CI", "Pulumi", "Cloudflare"),
                                          k=rng.randint(1, 3))]  # fmt: skip
    return Stack(
        language=language,
        framework=framework,
        database=weighted(rng, vocab.DATABASES, vocab.DATABASE_WEIGHTS),
        cache=rng.choice(vocab.CACHES) if rng.random() < 0.6 else None,
        messaging=rng.choice(vocab.MESSAGING) if rng.random() < 0.45 else None,
        frontend=(
            weighted(rng, vocab.FRONTENDS, vocab.FRONTEND_WEIGHTS) if rng.random() < 0.75 else None
        ),
        cloud=cloud,
        infra=tuple(dict.fromkeys(infra)),
        observability=tuple(rng.sample(vocab.OBSERVABILITY, k=rng.randint(0, 2))),
        style=weighted(rng, vocab.ARCHITECTURE_STYLES, vocab.ARCHITECTURE_STYLE_WEIGHTS),
        deployment=rng.choice(vocab.DEPLOYMENT_TARGETS),
    )


@dataclass(frozen=True)
class ProjectProfile:
    """Everything about a project but its id, name, owner and timestamps."""

    description: str
    status: str
    phase: str
    tags: list[str]
    stack: Stack
    architecture: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)


def architecture(rng: random.Random, slug: str, stack: Stack) -> dict[str, Any]:
    """The ``architecture`` JSON of a project: style, database, services, deployment."""
    if stack.style in ("monolith", "modular-monolith"):
        roles = ["app"] + (["worker"] if rng.random() < 0.5 else [])
    else:
        roles = rng.sample(vocab.SERVICE_ROLES, k=rng.randint(2, 6))
    services = [
        {
            "name": f"{slug}-{role}"[:60],
            "language": stack.language.lower(),
            "framework": stack.framework,
            "replicas": rng.choice((1, 2, 2, 3, 3, 4, 6)),
        }
        for role in roles
    ]
    architecture: dict[str, Any] = {
        "style": stack.style,
        "database": stack.database.lower().replace(" ", "-"),
        "services": services,
        "deployment": stack.deployment,
        "cloud": stack.cloud,
        "regions": rng.sample(("eu-west-1", "eu-central-1", "us-east-1", "us-west-2",
                               "ap-southeast-2"), k=rng.choice((1, 1, 1, 2))),
    }  # fmt: skip
    if stack.messaging is not None:
        architecture["messaging"] = stack.messaging
    if stack.cache is not None:
        architecture["cache"] = stack.cache
    if stack.frontend is not None:
        architecture["frontend"] = stack.frontend
    return architecture


def project_status(rng: random.Random) -> str:
    """A project status, most often ``active``."""
    return weighted(rng, vocab.PROJECT_STATUSES, vocab.PROJECT_STATUS_WEIGHTS)


def project_phase(rng: random.Random, status: str) -> str:
    """A phase plausible for ``status`` (a draft is in requirements, a completed one deployed)."""
    return weighted(rng, vocab.PHASES, vocab.PHASE_WEIGHTS_BY_STATUS.get(status, (1,) * 5))


def project_tags(rng: random.Random) -> list[str]:
    """One to five distinct tags."""
    return rng.sample(vocab.TAGS, k=rng.randint(1, 5))


def project_description(rng: random.Random, name: str, stack: Stack) -> str:
    """A two-sentence pitch naming the audience, the goal and the stack."""
    audience = rng.choice(vocab.AUDIENCES)
    goal = rng.choice(vocab.GOALS)
    return (
        f"{name} is a {stack.style.replace('-', ' ')} {stack.framework} application for "
        f"{audience}. The goal is to {goal}. Data lives in {stack.database}"
        + (f", with {stack.messaging} carrying domain events" if stack.messaging else "")
        + f"; it runs on {stack.cloud}."
    )


def project_metadata(rng: random.Random) -> dict[str, Any]:
    """Where the project came from and how big the team is."""
    metadata: dict[str, Any] = {
        "source": rng.choice(("web", "web", "web", "api", "import")),
        "team_size": rng.choice((2, 3, 4, 5, 6, 8, 12)),
    }
    if rng.random() < 0.3:
        metadata["budget_usd"] = rng.choice((25_000, 50_000, 120_000, 250_000))
    return metadata


def project_profile(rng: random.Random, name: str) -> ProjectProfile:
    """Status, phase (consistent with the status), tags, stack and architecture of a project."""
    status = project_status(rng)
    phase = project_phase(rng, status)
    stack = random_stack(rng)
    return ProjectProfile(
        description=project_description(rng, name, stack),
        status=status,
        phase=phase,
        tags=project_tags(rng),
        stack=stack,
        architecture=architecture(rng, slugify(name), stack),
        metadata=project_metadata(rng),
    )
