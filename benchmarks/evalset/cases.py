"""Questions and the passages that answer them, made from the data generator's vocabulary.

Each topic is a passage template (what a message or a document section says) and a question an
assistant's user would ask about it. Three kinds of questions, as an assistant meets them:

* ``paraphrase``: the question says it in other words ("why did the invoice release break?"
  for "deployment of the invoice service to production failed: the Flyway migration timed
  out"). It shares one distinguishing word (an entity, a product) and stopwords with the
  answer, so BM25 finds many rows holding that word and the vector must find the meaning.
* ``lexical``: the question quotes an identifier (an error code, an address, an index name)
  that e5 embeds poorly and BM25 matches exactly.
* ``mixed``: a project's name plus a paraphrase.

Every topic is filled three times with different slot values (seeded), so the other two are
hard negatives for each question. ``python benchmarks/evalset/cases.py`` rewrites
``cases.json``; ``load_cases()`` checks the file still equals what the templates make.
"""

from __future__ import annotations

import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from project_architect_db.datagen import _vocabulary as vocab

SEED = 16
VARIANTS = 3
CASES_FILE = Path(__file__).with_name("cases.json")


@dataclass(frozen=True)
class Topic:
    name: str
    kind: str  # "message" | "document"
    category: str  # "paraphrase" | "lexical" | "mixed"
    passage: str
    question: str


def _m(name: str, category: str, passage: str, question: str) -> Topic:
    return Topic(name, "message", category, passage, question)


def _d(name: str, category: str, passage: str, question: str) -> Topic:
    return Topic(name, "document", category, passage, question)


P, L, X = "paraphrase", "lexical", "mixed"

TOPICS: tuple[Topic, ...] = (
    _m("failed-deploy", P,
       "Deployment of the {entity} service to production failed: the {tool} migration timed "
       "out after 30 minutes while rewriting the {entity}s table.",
       "why did the {entity} release break?"),
    _m("pool-exhausted", P,
       "{database} ran out of connections at peak: the pool of 20 was exhausted by the "
       "{entity} export job holding sessions open.",
       "what made the {entity} datastore refuse clients when traffic spiked?"),
    _d("rollback-runbook", P,
       "To undo a bad {entity} rollout, switch traffic back to the blue environment and "
       "redeploy the previous green image; then page the owner of the change.",
       "how do we revert a broken {entity} release?"),
    _m("cache-misses", P,
       "The {cache} hit ratio dropped to 12% after the {entity} keys started expiring every "
       "minute instead of every hour.",
       "why is the {entity} lookup layer barely helping anymore?"),
    _m("double-charge", P,
       "Customers were charged twice for one {entity} because the payment request was "
       "retried without an idempotency key.",
       "what caused duplicate billing on {entity}s?"),
    _d("token-expiry", P,
       "{idp} access tokens expire after 5 minutes and the mobile client never refreshes "
       "them, so {entity} screens log users out mid-session.",
       "why do people get signed out of the phone app while viewing a {entity}?"),
    _m("slow-report", P,
       "The nightly {entity} report took 4 hours because the query scanned the whole table "
       "without an index on {field}.",
       "why is the overnight {entity} summary so sluggish?"),
    _d("retention", P,
       "Personal data of {entity}s is erased {number} days after the account closes; a "
       "scheduled job deletes it and records the deletion for auditors.",
       "how long do we keep a {entity}'s private information once they leave?"),
    _m("consumer-lag", P,
       "The {messaging} consumer fell 2 million events behind because one partition key "
       "({entity}_id) was hot.",
       "why is the {entity} backlog growing?"),
    _m("oom-killed", P,
       "Pods of {entity}-api were OOMKilled: the 256Mi memory limit is below what the JSON "
       "export needs.",
       "why do the {entity} containers keep crashing?"),
    _d("money-cents", P,
       "We store money as integer cents in the {entity} table to avoid floating-point "
       "rounding errors in totals.",
       "how are {entity} amounts represented so sums stay exact?"),
    _m("cloud-bill", P,
       "The {cloud} bill for the {entity} environment doubled in March because idle staging "
       "clusters kept running over weekends.",
       "why did hosting for {entity} get so expensive?"),
    _m("sso-keys", P,
       "Login fails for SSO users of the {entity} portal since {idp} rotated its signing "
       "keys and our service cached the old JWKS.",
       "why can't single sign-on people get into the {entity} portal?"),
    _d("async-export", P,
       "Exports of {entity}s are produced asynchronously; the user receives an email with a "
       "download link valid for 24 hours.",
       "how does someone get a file of all their {entity}s?"),
    _m("midnight-flake", P,
       "The {entity} test fails only when the database clock crosses midnight UTC, because "
       "{field} is compared in local time.",
       "why does the {entity} suite break at random around the end of the day?"),
    _m("search-engine", P,
       "We moved text lookups of {entity}s from {database} LIKE queries to {search} because "
       "they took seconds.",
       "why did we stop finding {entity}s by keyword in the main store?"),
    _d("tenancy", P,
       "Each tenant gets its own schema for {entity} data; the tenant is resolved from the "
       "subdomain before any query runs.",
       "how do we keep one customer's {entity} records apart from another's?"),
    _m("webhook-retries", P,
       "{entity} webhook deliveries are retried with exponential backoff for up to 3 days, "
       "then moved to a dead-letter queue.",
       "what happens when a partner keeps rejecting our {entity} callbacks?"),
    _m("rate-limit", P,
       "Rate limiting on the {entity} API: each key may make {number} calls per minute; the "
       "gateway answers 429 beyond that.",
       "how many {entity} requests can a client send before being throttled?"),
    _d("restore-drill", P,
       "Backups of the {entity} {database} database are taken every night and restored into "
       "a scratch environment every Monday to prove they work.",
       "how do we know our {entity} snapshots can actually be recovered?"),
    _m("n-plus-one", P,
       "The {entity} page renders slowly because the frontend fetches each row's owner with "
       "a separate request (an N+1 pattern).",
       "why does the {entity} screen take so long to show up?"),
    _m("slo-alert", P,
       "Our latency SLO is 300 ms at the 95th percentile for {entity} reads; the alert pages "
       "on-call after 10 minutes above it.",
       "when does someone get woken up about slow {entity} lookups?"),
    _d("secrets", P,
       "Secrets of the {entity} service live in the cloud secret manager and are injected at "
       "start-up; nothing sensitive is committed to git.",
       "where are the {entity} passwords and API keys kept?"),
    _m("double-email", P,
       "Emails to {entity} owners were sent twice because two scheduler replicas ran the same "
       "cron job.",
       "why did people get duplicate {entity} notices?"),
    _m("ts-error", L,
       "Build {build} failed on {branch}: error TS2{code} in {Entity}List.tsx.",
       "what broke build {build}?"),
    _m("econnrefused", L,
       "ECONNREFUSED 10.0.{a}.{b}:{port} when the {entity} worker starts: the host name "
       "resolves to an old address.",
       "ECONNREFUSED 10.0.{a}.{b}:{port}"),
    _m("pay-code", L,
       "Error PAY-{code} means the card issuer declined the {entity} payment; show the "
       "customer the retry screen.",
       "what does PAY-{code} mean?"),
    _m("unused-index", L,
       "The index ix_{entity}s_{field} has not been used by any query in 30 days and slows "
       "inserts; drop it.",
       "ix_{entity}s_{field}"),
    _m("flag", L,
       "The feature flag {entity}_flow_v{code} routes 10% of users to the new flow; turn it "
       "off if errors rise.",
       "what does {entity}_flow_v{code} do?"),
    _d("adr-number", L,
       "ADR {adr}: use {tool} for schema migrations of the {entity} store, with a tested "
       "downgrade for each revision.",
       "ADR {adr}"),
    _m("commit-sha", L,
       "Commit {sha} reverted the {entity} pricing change after the canary showed errors.",
       "what did {sha} do?"),
    _m("ticket", L,
       "Ticket OPS-{code}: the {entity} queue stopped draining after the broker upgrade.",
       "OPS-{code} status"),
    _m("project-launch", X,
       "{project}: the go-live slipped two weeks because the {entity} load test failed at "
       "half the expected traffic.",
       "why was the {project} launch late?"),
    _d("project-stack", X,
       "{project} keeps its source of truth in {database}; read models for the dashboards "
       "are rebuilt asynchronously.",
       "where does {project} store its canonical data?"),
    _m("project-owner", X,
       "{person} owns the {project} on-call rotation and approves every production change.",
       "who is responsible for incidents on {project}?"),
    _d("project-budget", X,
       "{project} must cut its cloud spend by a third before the next funding round; the "
       "biggest line is idle GPU capacity.",
       "what is {project} doing about costs?"),
)  # fmt: skip


def _values(rng: random.Random, entity: str, project: str) -> dict[str, Any]:
    return {
        "entity": entity,
        "Entity": entity.title(),
        "field": rng.choice(vocab.FIELDS),
        "database": rng.choice(vocab.DATABASES),
        "cache": rng.choice(vocab.CACHES),
        "messaging": rng.choice(vocab.MESSAGING),
        "search": rng.choice(vocab.SEARCH_ENGINES),
        "cloud": rng.choice(vocab.CLOUDS),
        "idp": rng.choice(vocab.IDENTITY_PROVIDERS),
        "tool": rng.choice(vocab.MIGRATION_TOOLS),
        "branch": rng.choice(vocab.FEATURE_BRANCHES),
        "number": rng.choice((30, 60, 90, 180, 365)),
        "build": f"#{rng.randint(1000, 9999)}",
        "code": rng.randint(100, 999),
        "a": rng.randint(0, 9),
        "b": rng.randint(2, 250),
        "port": rng.choice((5432, 6379, 9092)),
        "adr": f"{rng.randint(10, 99):04d}",
        "sha": f"{rng.getrandbits(28):07x}",
        "project": project,
        "person": f"{rng.choice(vocab.FIRST_NAMES)} {rng.choice(vocab.LAST_NAMES)}",
    }


def make_cases(seed: int = SEED) -> list[dict[str, Any]]:
    """Every topic filled ``VARIANTS`` times: the labelled cases, in a fixed order."""
    rng = random.Random(seed)
    projects = iter(rng.sample(vocab.CODENAMES, k=len(vocab.CODENAMES)))
    cases = []
    for topic in TOPICS:
        entities = rng.sample(vocab.ENTITIES, k=VARIANTS)
        for variant, entity in enumerate(entities):
            project = next(projects) if topic.category == X else rng.choice(vocab.CODENAMES)
            values = _values(rng, entity, project)
            cases.append(
                {
                    "id": f"{topic.name}-{variant}",
                    "category": topic.category,
                    "kind": topic.kind,
                    "question": topic.question.format(**values),
                    "passage": topic.passage.format(**values),
                    "project": project,
                }
            )
    return cases


_FUNCTION_WORDS = frozenset(
    ("the", "and", "for", "our", "did", "does", "why", "how", "what", "who", "when", "where",
     "its", "get", "they", "them", "can", "not", "from", "with", "into", "one", "after",
     "about", "that", "this", "any", "each", "every", "their", "are", "was")
)  # fmt: skip


def content_words(text: str) -> set[str]:
    """Lower-cased words of three letters or more, minus a few function words (for overlap)."""
    return {w for w in re.findall(r"[a-z0-9_]{3,}", text.lower()) if w not in _FUNCTION_WORDS}


def load_cases() -> list[dict[str, Any]]:
    """The checked-in cases; refuses a file that the templates no longer make."""
    cases: list[dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))
    if cases != make_cases():
        raise SystemExit(f"{CASES_FILE} is stale: run python benchmarks/evalset/cases.py")
    return cases


def main() -> None:
    cases = make_cases()
    CASES_FILE.write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n", "utf-8")
    shared = [len(content_words(c["question"]) & content_words(c["passage"])) for c in cases]
    by_category: dict[str, int] = {}
    for case in cases:
        by_category[case["category"]] = by_category.get(case["category"], 0) + 1
    print(f"{len(cases)} cases {by_category}; content words shared with the answer: "
          f"mean {sum(shared) / len(shared):.2f}, max {max(shared)}", file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()
