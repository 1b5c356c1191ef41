"""Code repositories, their CI builds, and their deployments."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from project_architect_db.datagen import _text as text
from project_architect_db.datagen import _vocabulary as vocab
from project_architect_db.datagen._columns import (
    _Ascii,
    _json,
    _Masked,
    _Pooled,
    _table,
)
from project_architect_db.datagen._context import _Context
from project_architect_db.datagen._draws import (
    _US_PER_DAY,
    _US_PER_S,
    Array,
    _assign_ids,
    _codes,
    _commit_shas,
    _lognormal_us,
    _spread,
)
from project_architect_db.schemas.common import slugify


class _CodeRepositories(_Context):
    """Generates code repositories, their builds, then deployments shipping some of those builds."""

    def _companies(self) -> list[str]:
        rng = self.shared_rng("companies")
        return [slugify(text.company_name(rng)) for _ in range(256)]

    def _repositories(
        self, per_project: int, builds_per: int, deployments_per: int
    ) -> tuple[pa.Table, pa.Table, pa.Table]:
        gen, rng = self.gen["repositories"], self.rng("repositories")
        P = self.project_count
        repo_project = np.repeat(np.arange(P, dtype=np.int64), per_project)
        R = len(repo_project)
        slot = np.tile(np.arange(per_project, dtype=np.int64), P)
        names, hosts = vocab.PROVIDERS, vocab.PROVIDER_HOSTS
        project_host = _codes(gen, vocab.PROVIDER_WEIGHTS, P)
        companies = self.pooled("companies", self._companies)
        organisations = [
            rng.choice(companies)
            if rng.random() < 0.5
            else f"{slug.split('-')[0]}-{rng.choice(vocab.ORG_SUFFIXES)}"
            for slug in self.project_slugs
        ]
        suffixes = vocab.REPOSITORY_SUFFIXES
        columns: dict[str, list[Any]] = {
            k: [] for k in ("provider", "owner", "name", "url", "language")
        }
        for p, j in zip(repo_project.tolist(), slot.tolist(), strict=True):
            suffix = suffixes[j % len(suffixes)]
            name = f"{self.project_slugs[p]}-{suffix}" + (
                f"-{j // len(suffixes) + 1}" if j >= len(suffixes) else ""
            )
            host = project_host[p]
            columns["provider"].append(names[host])
            columns["owner"].append(organisations[p])
            columns["name"].append(name)
            columns["url"].append(f"{hosts[host]}/{organisations[p]}/{name}")
            columns["language"].append(
                _repository_language(suffix, self.stacks[self.project_stack[p]])
            )
        visibility = _codes(gen, (60, 15, 25), R)
        public = visibility == 2
        # Long tail: Pareto-distributed stars; private repositories rarely have any.
        stars = np.where(
            public,
            np.minimum(8 * gen.pareto(1.1, size=R), 250_000),
            gen.pareto(3.0, size=R),
        ).astype(np.int32)
        forks = (stars * gen.uniform(0.02, 0.25, size=R)).astype(np.int32)
        open_issues = (gen.pareto(2.0, size=R) + np.sqrt(stars) / 2).astype(np.int32)
        created = self.project_created[repo_project] + gen.integers(
            0, 14 * _US_PER_DAY, size=R, endpoint=True
        )
        created = np.minimum(created, self.now_us - 3 * _US_PER_DAY)
        touched = gen.random(R) < 0.8
        updated = created + (touched * gen.random(R) * (self.now_us - created)).astype(np.int64)
        version = np.where(touched, gen.integers(2, 12, size=R), 1).astype(np.int32)
        topics = [_json({"topics": rng.sample(vocab.TAGS, k=rng.randint(0, 3)),
                         "archived": rng.random() < 0.05, "has_ci": rng.random() < 0.9})
                  for _ in range(R)]  # fmt: skip
        repo_ids = _assign_ids(self.id_gen, created)
        builds, last_build = self._builds(builds_per, repo_project, repo_ids.halves, created)
        deployments, last_deploy = self._deployments(
            deployments_per, repo_project, repo_ids.halves, created
        )
        last_commit = np.maximum(last_build, last_deploy)
        repositories = _table(
            "repositories",
            {
                "id": repo_ids.halves,
                "project_id": self.project_ids[repo_project],
                **columns,
                "default_branch": _Pooled(
                    ["main", "master", "develop"], _codes(gen, (85, 10, 5), R)
                ),
                "visibility": _Pooled(["private", "internal", "public"], visibility),
                "stars": stars,
                "forks": forks,
                "open_issues": open_issues,
                "last_commit_at": _Masked(np.maximum(last_commit, 0), last_commit < 0),
                "metadata": topics,
                "created_at": created,
                "updated_at": updated,
                "version": version,
            },
            repo_ids.order,
        )
        return repositories, builds, deployments

    def _builds(
        self, per_repo: int, repo_project: Array, repo_ids: Array, repo_created: Array
    ) -> tuple[pa.Table, Array]:
        gen = self.gen["builds"]
        R, K = len(repo_project), per_repo
        created = _spread(gen, repo_created, np.full(R, self.now_us - 2 * 3600 * _US_PER_S), K)
        if K:  # the newest build of a live project's repository ran lately
            live = self.project_live[repo_project]
            created[live, -1] = self.recent_starts(
                repo_created[live], np.full(int(live.sum()), self.now_us - 2 * 3600 * _US_PER_S)
            )
        status = _codes(gen, (80, 15, 5), (R, K))  # success, failure, cancelled
        if K:  # the latest build of some repositories is still queued or running
            latest = gen.random(R)
            status[:, -1] = np.where(latest < 0.08, 3, np.where(latest < 0.1, 4, status[:, -1]))
            recent = status[:, -1] >= 3
            created[recent, -1] = self.now_us - gen.integers(
                60 * _US_PER_S, 20 * 60 * _US_PER_S, size=int(recent.sum())
            )
        status = status.ravel()
        created = created.ravel()
        queued, running = status == 4, status == 3
        started = created + _lognormal_us(gen, 15.0, 1.0, 600.0, R * K)
        started = np.where(running, np.minimum(started, self.now_us - _US_PER_S), started)
        median = np.array([300.0, 140.0, 60.0, 1.0, 1.0])[status]
        duration = np.minimum(np.exp(np.log(median) + gen.normal(0.0, 0.6, size=R * K)), 7000.0)
        finished = started + np.maximum((duration * _US_PER_S).astype(np.int64), 1)
        unfinished = queued | running
        build_repo = np.repeat(np.arange(R, dtype=np.int64), K)
        shas = _commit_shas(gen, R * K)
        branch_pool = ["main", *vocab.FEATURE_BRANCHES]
        branch = np.where(gen.random(R * K) < 0.6, 0, gen.integers(1, len(branch_pool), size=R * K))
        ids = _assign_ids(self.id_gen, created)
        self.build_state = (ids.halves, shas, status, created, finished, unfinished)
        table = _table(
            "builds",
            {
                "id": ids.halves,
                "repository_id": repo_ids[build_repo],
                "project_id": self.project_ids[repo_project[build_repo]],
                "status": _Pooled(["success", "failure", "cancelled", "running", "queued"], status),
                "commit_sha": _Ascii(shas),
                "branch": _Pooled(branch_pool, branch),
                "started_at": _Masked(started, queued),
                "finished_at": _Masked(finished, unfinished),
                "duration_seconds": _Masked((finished - started) / _US_PER_S, unfinished),
                "trigger": _Pooled(
                    list(vocab.BUILD_TRIGGERS), _codes(gen, vocab.BUILD_TRIGGER_WEIGHTS, R * K)
                ),
                "created_at": created,
            },
            ids.order,
        )
        last = (
            np.where(queued, created, started).reshape(R, K).max(axis=1)
            if K
            else np.full(R, -1, dtype=np.int64)
        )
        return table, last

    def _deployments(
        self, per_repo: int, repo_project: Array, repo_ids: Array, repo_created: Array
    ) -> tuple[pa.Table, Array]:
        gen = self.gen["deployments"]
        R, K = len(repo_project), per_repo
        N = R * K
        build_ids, build_shas, build_status, build_created, build_finished, unfinished = (
            self.build_state
        )
        builds_per = len(build_status) // R if R else 0
        deploy_repo = np.repeat(np.arange(R, dtype=np.int64), K)
        # Most deployments ship a successful build of their repository; the rest a commit
        # deployed by hand.
        if builds_per:
            build = deploy_repo * builds_per + gen.integers(0, builds_per, size=N)
            linked = (build_status[build] == 0) & ~unfinished[build] & (gen.random(N) < 0.9)
        else:
            build = np.zeros(N, dtype=np.int64)
            linked = np.zeros(N, dtype=bool)
        latest_start = self.now_us - 3600 * _US_PER_S
        own_start = _spread(
            gen, repo_created + 3600 * _US_PER_S, np.full(R, latest_start), K, sort=False
        ).ravel()
        own_start = np.minimum(own_start, latest_start)
        if K:  # one deployment of a live project's repository happened lately, by hand
            recent = (np.arange(R, dtype=np.int64) * K + K - 1)[self.project_live[repo_project]]
            own_start[recent] = self.recent_starts(
                repo_created[recent // K] + 3600 * _US_PER_S,
                np.full(len(recent), latest_start),
            )
            linked[recent] = False
        lead = _lognormal_us(gen, 6 * 3600.0, 1.0, 20 * 86_400.0, N)
        if builds_per:
            delay = _lognormal_us(gen, 1800.0, 1.2, 3 * 86_400.0, N)
            after_build = build_finished[build] + np.minimum(
                delay, np.maximum(latest_start - build_finished[build], _US_PER_S)
            )
            started = np.where(linked, after_build, own_start)
            commit_at = np.where(
                linked,
                build_created[build] - gen.integers(_US_PER_S, 2 * 3600 * _US_PER_S, size=N),
                started - lead,
            )
            shas = np.where(linked[:, None], build_shas[build], _commit_shas(gen, N))
        else:
            started, commit_at, shas = own_start, own_start - lead, _commit_shas(gen, N)
        environment = _codes(gen, (50, 40, 10), N)  # staging, production, development
        status = _codes(gen, (88, 7, 5), N)  # success, failure, rolled_back
        if K:  # the newest deployment of a few repositories is still pending or in progress
            latest = gen.random(R)
            last = np.arange(R) * K + K - 1
            status[last] = np.where(latest < 0.02, 3, np.where(latest < 0.03, 4, status[last]))
            live = status[last] >= 3
            started[last[live]] = self.now_us - gen.integers(
                60 * _US_PER_S, 10 * 60 * _US_PER_S, size=int(live.sum())
            )
            commit_at[last[live]] = started[last[live]] - lead[last[live]]
        in_progress, pending = status == 3, status == 4
        done = ~(in_progress | pending)
        finished = started + _lognormal_us(gen, 180.0, 0.7, 3600.0, N)
        production = environment == 1
        incident = done & production & (gen.random(N) < np.where(status == 0, 0.06, 0.45))
        restored = finished + _lognormal_us(gen, 5400.0, 0.9, 2 * 86_400.0, N)
        ongoing = ~incident | (restored > self.now_us)
        created = np.where(
            pending, started, started - gen.integers(0, 60 * _US_PER_S, size=N, endpoint=True)
        )
        ids = _assign_ids(self.id_gen, created)
        table = _table(
            "deployments",
            {
                "id": ids.halves,
                "repository_id": repo_ids[deploy_repo],
                "project_id": self.project_ids[repo_project[deploy_repo]],
                "build_id": _Masked(
                    build_ids[build] if builds_per else np.zeros((N, 2), ">u8"), ~linked
                ),
                "environment": _Pooled(["staging", "production", "development"], environment),
                "status": _Pooled(
                    ["success", "failure", "rolled_back", "in_progress", "pending"], status
                ),
                "commit_sha": _Ascii(shas),
                "started_at": _Masked(started, pending),
                "finished_at": _Masked(finished, ~done),
                "duration_seconds": _Masked((finished - started) / _US_PER_S, ~done),
                "commit_at": commit_at,
                "caused_incident": incident,
                "restored_at": _Masked(restored, ongoing),
                "created_at": created,
            },
            ids.order,
        )
        last_deploy = commit_at.reshape(R, K).max(axis=1) if K else np.full(R, -1, np.int64)
        return table, last_deploy


def _repository_language(suffix: str, stack: text.Stack) -> str | None:
    if suffix == "docs":
        return None
    if suffix == "infra":
        return "HCL"
    if suffix == "web":
        return "TypeScript" if stack.frontend is not None else stack.language
    if suffix == "mobile":
        return "Kotlin" if stack.language in ("Java", "Kotlin") else "Swift"
    if suffix == "ml":
        return "Python"
    return stack.language
