"""Word lists the data generator draws from: names, stacks, tags, entities, phases' topics.

People's and companies' names come from here too (not from Faker), so generated data needs no
dependency beyond the library's own. Plain tuples, so both the schema factories
(``random.Random``) and the Arrow generator (numpy index arrays into pools built from these)
use the same realistic vocabulary. Weights are relative, not probabilities.
"""

from __future__ import annotations

from typing import Final

# -- projects -----------------------------------------------------------------------------------

CODENAMES: Final = (
    "Atlas", "Aurora", "Beacon", "Borealis", "Cascade", "Cedar", "Comet", "Compass", "Condor",
    "Coral", "Cobalt", "Delta", "Drift", "Echo", "Ember", "Falcon", "Fjord", "Flint", "Forge",
    "Galileo", "Garnet", "Glacier", "Granite", "Halcyon", "Harbor", "Helix", "Horizon", "Hydra",
    "Iris", "Juniper", "Kepler", "Keystone", "Lagoon", "Lantern", "Lumen", "Lynx", "Magnolia",
    "Mercury", "Meridian", "Mistral", "Monarch", "Nebula", "Nimbus", "Nova", "Oasis", "Obsidian",
    "Onyx", "Orbit", "Orion", "Pegasus", "Phoenix", "Pinnacle", "Polaris", "Prism", "Quartz",
    "Quasar", "Raven", "Redwood", "Sable", "Saffron", "Sequoia", "Sierra", "Solstice", "Sparrow",
    "Spectrum", "Summit", "Tempest", "Terra", "Thistle", "Titan", "Topaz", "Tundra", "Vanguard",
    "Vega", "Vertex", "Willow", "Zenith", "Zephyr",
)  # fmt: skip

DOMAINS: Final = (
    "Billing", "Payments", "Invoicing", "Checkout", "Inventory", "Logistics", "Fleet", "Shipping",
    "Analytics", "Reporting", "Telemetry", "Observability", "Identity", "Access", "Onboarding",
    "Customer", "Support", "Ticketing", "Scheduling", "Booking", "Catalog", "Pricing", "Loyalty",
    "Marketing", "Campaign", "Content", "Media", "Search", "Recommendation", "Fraud", "Risk",
    "Compliance", "Payroll", "HR", "Learning", "Claims", "Underwriting", "Lending", "Trading",
    "Energy", "IoT", "Healthcare", "Patient", "Clinical", "Warehouse", "Procurement", "Vendor",
    "Document", "Knowledge", "Chat", "Notification", "Feedback", "Survey", "Event", "Ticket",
)  # fmt: skip

KINDS: Final = (
    "Platform", "Service", "Portal", "Engine", "Hub", "API", "Gateway", "Dashboard", "Pipeline",
    "Console", "Workbench", "Suite", "System", "Manager", "Tracker", "Studio", "Assistant",
    "Exchange", "Network", "Cloud", "App", "Marketplace", "Monitor", "Orchestrator", "Registry",
)  # fmt: skip

AUDIENCES: Final = (
    "finance teams", "small businesses", "enterprise customers", "field technicians",
    "support agents", "data analysts", "clinicians", "warehouse operators", "store managers",
    "mobile users", "partners and resellers", "internal engineering teams", "students",
    "fleet dispatchers", "compliance officers", "marketing teams",
)  # fmt: skip

GOALS: Final = (
    "replace a spreadsheet-driven process",
    "consolidate three legacy systems into one",
    "cut month-end close from five days to one",
    "serve real-time dashboards with sub-second latency",
    "support multi-tenant onboarding without manual steps",
    "meet SOC 2 and GDPR requirements from day one",
    "handle ten times the current peak traffic",
    "give every team self-service access to their data",
    "automate approvals that currently go through email",
    "expose a public API for partners",
    "move from nightly batches to event-driven updates",
    "reduce cloud spend by a third",
)

PROJECT_STATUSES: Final = ("active", "draft", "paused", "completed", "archived")
PROJECT_STATUS_WEIGHTS: Final = (45, 15, 8, 20, 12)

PHASES: Final = ("requirements", "architecture", "design", "implementation", "deployment")

PHASE_WEIGHTS_BY_STATUS: Final = {
    "draft": (70, 25, 5, 0, 0),
    "active": (15, 20, 20, 30, 15),
    "paused": (20, 25, 20, 30, 5),
    "completed": (0, 0, 0, 10, 90),
    "archived": (10, 10, 10, 30, 40),
}

TAGS: Final = (
    "saas", "b2b", "b2c", "internal-tool", "greenfield", "migration", "mvp", "compliance",
    "gdpr", "hipaa", "pci-dss", "multi-tenant", "real-time", "analytics", "mobile", "api-first",
    "event-driven", "ml", "ai-assistant", "cost-reduction", "high-availability", "legacy",
    "prototype", "open-source", "fintech", "healthtech", "e-commerce", "logistics", "iot",
    "edtech", "security", "data-platform",
)  # fmt: skip

# Tech stacks by layer; a project picks a coherent subset (one language/framework, one or two
# databases, ...).
BACKENDS: Final = (
    ("Python", "FastAPI"),
    ("Python", "Django"),
    ("Python", "Flask"),
    ("TypeScript", "NestJS"),
    ("TypeScript", "Express"),
    ("Go", "Gin"),
    ("Go", "Echo"),
    ("Java", "Spring Boot"),
    ("Kotlin", "Ktor"),
    ("C#", "ASP.NET Core"),
    ("Rust", "Axum"),
    ("Ruby", "Rails"),
    ("Elixir", "Phoenix"),
)
BACKEND_WEIGHTS: Final = (18, 9, 3, 10, 6, 8, 3, 10, 3, 6, 3, 4, 2)

DATABASES: Final = (
    "PostgreSQL", "MySQL", "MongoDB", "DynamoDB", "SQLite", "DuckDB", "ClickHouse",
    "Cassandra", "CockroachDB", "SQL Server",
)  # fmt: skip
DATABASE_WEIGHTS: Final = (40, 10, 10, 6, 3, 5, 5, 3, 3, 5)

CACHES: Final = ("Redis", "Memcached", "Valkey")
MESSAGING: Final = ("Kafka", "RabbitMQ", "NATS", "Amazon SQS", "Google Pub/Sub", "Redis Streams")
FRONTENDS: Final = ("React", "Next.js", "Vue", "Nuxt", "Angular", "Svelte", "SvelteKit", "HTMX")
FRONTEND_WEIGHTS: Final = (30, 20, 10, 4, 8, 5, 4, 3)
INFRA: Final = (
    "Docker", "Kubernetes", "Terraform", "AWS", "Google Cloud", "Azure", "GitHub Actions",
    "GitLab CI", "Helm", "Argo CD", "Pulumi", "Cloudflare",
)  # fmt: skip
OBSERVABILITY: Final = ("Prometheus", "Grafana", "OpenTelemetry", "Datadog", "Sentry", "Loki")
SEARCH_ENGINES: Final = ("Elasticsearch", "OpenSearch", "Meilisearch", "Typesense")

ARCHITECTURE_STYLES: Final = (
    "monolith", "modular-monolith", "microservices", "serverless", "event-driven",
    "hexagonal", "layered",
)  # fmt: skip
ARCHITECTURE_STYLE_WEIGHTS: Final = (10, 25, 30, 10, 15, 6, 4)

DEPLOYMENT_TARGETS: Final = (
    "kubernetes", "ecs-fargate", "cloud-run", "aws-lambda", "fly-io", "vm", "heroku",
)  # fmt: skip

SERVICE_ROLES: Final = (
    "api", "web", "worker", "gateway", "auth", "billing", "notifications", "search", "ingest",
    "scheduler", "reporting", "admin",
)  # fmt: skip

# -- conversations and messages -----------------------------------------------------------------

CONVERSATION_TITLES: Final = {
    "requirements": (
        "Kick-off: goals and constraints",
        "Who are the users?",
        "Must-haves for the first release",
        "Non-functional requirements",
        "Compliance and data retention",
        "Scoping the MVP",
        "Traffic and growth estimates",
        "Integrations we cannot avoid",
    ),
    "architecture": (
        "Monolith or microservices?",
        "Choosing the primary database",
        "Event streaming vs. a job queue",
        "Multi-tenancy strategy",
        "Caching strategy",
        "Authentication and authorization",
        "Read models and reporting",
        "Where does search live?",
    ),
    "design": (
        "Data model for the core entities",
        "REST API design review",
        "Pagination and filtering",
        "Error handling conventions",
        "Idempotency for payment requests",
        "Schema for audit logs",
        "Webhook delivery design",
        "UI flows for onboarding",
    ),
    "implementation": (
        "Setting up the repository layout",
        "Debugging a flaky integration test",
        "Slow query on the orders table",
        "Background jobs and retries",
        "Writing the migration scripts",
        "Connection pool exhaustion",
        "Refactoring the service layer",
        "Load test results",
    ),
    "deployment": (
        "CI/CD pipeline design",
        "Blue-green vs. canary releases",
        "Kubernetes resource limits",
        "Incident review: failed deploy",
        "Rollback procedure",
        "Observability and alerting",
        "Secrets management",
        "Cost review after launch",
    ),
}

ENTITIES: Final = (
    "customer", "order", "invoice", "subscription", "tenant", "payment", "account", "session",
    "event", "document", "notification", "product", "shipment", "ticket", "user", "workspace",
    "report", "appointment", "device", "transaction",
)  # fmt: skip

FIELDS: Final = (
    "created_at", "status", "tenant_id", "email", "external_id", "amount", "due_date",
    "updated_at", "region", "owner_id",
)  # fmt: skip

CONCERNS: Final = (
    "latency", "cost", "operational overhead", "data consistency", "vendor lock-in",
    "team familiarity", "horizontal scalability", "backup and restore", "auditability",
    "cold starts", "schema evolution", "security",
)  # fmt: skip

CLOUDS: Final = ("AWS", "Google Cloud", "Azure", "Hetzner", "Fly.io", "DigitalOcean")

ASSISTANT_MODELS: Final = ("gpt-4o", "gpt-4.1", "claude-sonnet-4", "claude-opus-4", "o3-mini")
TOOLS: Final = ("search_docs", "run_sql", "read_file", "list_repositories", "fetch_metrics")

ATTACHMENT_TYPES: Final = (
    ("image/png", "png", "diagram"),
    ("image/png", "png", "screenshot"),
    ("image/jpeg", "jpg", "whiteboard"),
    ("application/pdf", "pdf", "requirements"),
    ("application/pdf", "pdf", "contract"),
    ("text/csv", "csv", "export"),
    ("text/markdown", "md", "notes"),
    ("application/json", "json", "openapi"),
    ("text/x-python", "py", "snippet"),
    ("application/x-yaml", "yaml", "config"),
)

# -- repositories and CI/CD ---------------------------------------------------------------------

REPOSITORY_SUFFIXES: Final = (
    "api", "web", "infra", "worker", "mobile", "docs", "sdk", "gateway", "ml", "cli",
)  # fmt: skip

ORG_SUFFIXES: Final = ("labs", "hq", "inc", "io", "tech", "dev", "team", "eng")

LANGUAGES: Final = (
    "Python", "TypeScript", "Go", "Java", "Kotlin", "C#", "Rust", "Ruby", "Elixir",
    "JavaScript", "HCL", "Swift", "Dart",
)  # fmt: skip

PROVIDERS: Final = ("github", "gitlab", "bitbucket")
PROVIDER_HOSTS: Final = ("https://github.com", "https://gitlab.com", "https://bitbucket.org")
PROVIDER_WEIGHTS: Final = (80, 15, 5)

FEATURE_BRANCHES: Final = (
    "feature/add-billing-webhooks", "feature/tenant-onboarding", "feature/search-filters",
    "feature/export-csv", "feature/sso-login", "fix/null-invoice-total", "fix/timezone-bug",
    "fix/flaky-test", "chore/bump-dependencies", "refactor/service-layer",
    "feature/rate-limiting", "feature/audit-log", "fix/n-plus-one-query", "feature/dark-mode",
)  # fmt: skip

BUILD_TRIGGERS: Final = ("push", "pull_request", "schedule", "manual")
BUILD_TRIGGER_WEIGHTS: Final = (55, 35, 6, 4)

# -- documents ----------------------------------------------------------------------------------

SPEC_TOPICS: Final = (
    "user-onboarding", "billing-engine", "notification-service", "search-api", "audit-log",
    "role-based-access", "data-export", "webhooks", "rate-limiting", "reporting-dashboard",
    "tenant-provisioning", "file-uploads", "payment-retries", "sso-integration",
)  # fmt: skip

ADR_DECISIONS: Final = (
    ("use-{database}", "Use {database} as the primary datastore"),
    ("adopt-{style}", "Adopt a {style} architecture"),
    ("use-{messaging}-for-events", "Use {messaging} for domain events"),
    ("deploy-on-{deploy}", "Deploy services on {deploy}"),
    ("uuidv7-primary-keys", "Use UUIDv7 primary keys"),
    ("openapi-first", "Design APIs OpenAPI-first"),
    ("store-timestamps-in-utc", "Store all timestamps in UTC"),
    ("feature-flags", "Roll out features behind flags"),
    ("{frontend}-for-the-frontend", "Use {frontend} for the web frontend"),
)

IDENTITY_PROVIDERS: Final = (
    "Auth0", "Keycloak", "Amazon Cognito", "Okta", "Microsoft Entra ID", "Firebase Auth", "Zitadel",
)  # fmt: skip

MIGRATION_TOOLS: Final = (
    "Alembic", "Flyway", "Liquibase", "Prisma Migrate", "golang-migrate", "Atlas", "dbmate",
)  # fmt: skip

NOTE_TOPICS: Final = (
    "meeting-notes", "open-questions", "risks", "glossary", "stakeholders", "retro",
    "capacity-plan", "runbook",
)  # fmt: skip

# -- people and companies -------------------------------------------------------------------------

FIRST_NAMES: Final = (
    "Aaliyah", "Aarav", "Adele", "Ahmed", "Aiko", "Alejandro", "Amara", "Ana", "Andrei", "Anika",
    "Arjun", "Astrid", "Ayesha", "Ben", "Bianca", "Bo", "Camille", "Carlos", "Chen", "Chiara",
    "Chloe", "Daniel", "Dara", "David", "Diego", "Dmitri", "Elena", "Elif", "Emeka", "Emma",
    "Farah", "Fatima", "Felix", "Fiona", "Gabriel", "Grace", "Hana", "Hannah", "Hiro", "Ibrahim",
    "Ines", "Ingrid", "Isaac", "Ivan", "Jamal", "James", "Jana", "Javier", "Jin", "Jonas", "Julia",
    "Kai", "Kamala", "Karin", "Kenji", "Kofi", "Lars", "Laura", "Leila", "Liam", "Lina", "Lucas",
    "Luis", "Maya", "Mei", "Mia", "Miguel", "Mohammed", "Nadia", "Naomi", "Nia", "Nikhil", "Noah",
    "Nora", "Olga", "Omar", "Oscar", "Pablo", "Priya", "Rafael", "Rahul", "Rania", "Ravi", "Rosa",
    "Sam", "Sara", "Sofia", "Sven", "Tariq", "Tess", "Thomas", "Tomas", "Valentina", "Vikram",
    "Wei", "Yara", "Yusuf", "Zara", "Zoe",
)  # fmt: skip

LAST_NAMES: Final = (
    "Abe", "Adeyemi", "Alvarez", "Andersen", "Bakker", "Banerjee", "Becker", "Bianchi", "Brown",
    "Castro", "Chen", "Costa", "Dahl", "Das", "Dubois", "Eriksson", "Fernandez", "Fischer",
    "Garcia", "Gupta", "Haddad", "Hansen", "Hoffmann", "Horvat", "Ibrahim", "Ivanova", "Jansen",
    "Johnson", "Kaur", "Khan", "Kim", "Kowalski", "Kumar", "Larsen", "Lee", "Lopez", "Martin",
    "Meyer", "Moreau", "Murphy", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Park",
    "Patel", "Pereira", "Petrov", "Popescu", "Rossi", "Sato", "Schmidt", "Silva", "Singh",
    "Smith", "Sousa", "Suzuki", "Tanaka", "Taylor", "Torres", "Van Dijk", "Wagner", "Walker",
    "Wang", "Weber", "Williams", "Wong", "Yamamoto", "Yilmaz", "Zhang", "Zimmermann",
)  # fmt: skip

COMPANY_WORDS: Final = (
    "Acme", "Alder", "Alpine", "Amber", "Apex", "Arbor", "Basalt", "Blue Harbor", "Brightline",
    "Canyon", "Clearwater", "Copperleaf", "Crescent", "Evergreen", "Fairway", "Foxglove",
    "Greenfield", "Highland", "Ironwood", "Keel", "Lakeside", "Lighthouse", "Maple", "Meadow",
    "Northwind", "Oakridge", "Pinecrest", "Quarry", "Riverbend", "Rockwell", "Silverline",
    "Starling", "Stonebridge", "Sunrise", "Tidewater", "Trailhead", "Westbrook", "Windmill",
)  # fmt: skip

COMPANY_KINDS: Final = (
    "Analytics", "Bank", "Capital", "Consulting", "Digital", "Energy", "Foods", "Freight",
    "Health", "Insurance", "Labs", "Logistics", "Media", "Mobility", "Retail", "Robotics",
    "Software", "Systems", "Telecom", "Travel",
)  # fmt: skip

COMPANY_SUFFIXES: Final = ("Inc", "LLC", "Ltd", "GmbH", "Group", "Co", "AG", "SA", "BV", "PLC")
