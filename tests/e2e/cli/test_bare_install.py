"""The main job from a bare install: `demo` and `seed` need no [testing] extra (no Faker).

The wheel test is the README's promise end to end: build the wheel, install it alone in an
empty virtual environment (dependencies from the package index or pip's cache), check that
Faker and factory-boy are absent there, and run `demo` and `seed`. The guard test is the cheap
version every run can afford: the CLI with Faker and factory-boy made unimportable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# Makes `faker` and `factory` unimportable, as in an environment without the [testing] extra.
_BLOCK = textwrap.dedent(
    """
    import sys

    class _Absent:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in ("faker", "factory"):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
            return None

    sys.meta_path.insert(0, _Absent())
    for _name in [m for m in sys.modules if m.partition(".")[0] in ("faker", "factory")]:
        del sys.modules[_name]
    """
)


def _run(args: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [str(a) for a in args], capture_output=True, text=True, timeout=600, **kwargs
    )


@pytest.mark.subprocess
def test_the_cli_demo_and_seed_work_while_faker_and_factory_boy_cannot_be_imported(
    tmp_path: Path,
) -> None:
    code = _BLOCK + textwrap.dedent(
        """
        import json
        from pathlib import Path
        from typer.testing import CliRunner

        for name in ("faker", "factory"):
            try:
                __import__(name)
            except ModuleNotFoundError:
                pass
            else:
                raise SystemExit(f"{name} is importable: the guard does not work")

        import project_architect_db.cli.demo
        import project_architect_db.cli.seed
        import project_architect_db.datagen
        from project_architect_db.cli import app

        folder = Path(sys.argv[1])
        runner = CliRunner()
        demo = runner.invoke(app, ["demo", "--preset", "tiny", "-d", str(folder / "d.duckdb")])
        assert demo.exit_code == 0, demo.output
        assert "(no rows)" not in demo.output, demo.output
        init = runner.invoke(app, ["init", "-d", str(folder / "s.duckdb")])
        assert init.exit_code == 0, init.output
        seed = runner.invoke(
            app, ["seed", "-d", str(folder / "s.duckdb"), "--preset", "tiny", "--json"]
        )
        assert seed.exit_code == 0, seed.output
        loaded = [
            m for m in sys.modules
            if m.partition(".")[0] in ("faker", "factory")
            or m.startswith("project_architect_db.testing")
        ]
        print(json.dumps(sorted(loaded)))
        """
    )
    done = _run([sys.executable, "-c", code, tmp_path], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


@pytest.mark.subprocess
def test_the_guard_would_catch_a_cli_module_that_imports_faker(tmp_path: Path) -> None:
    # The guard itself must fail where the old code failed: the testing factories need Faker.
    code = _BLOCK + "import project_architect_db.testing.factories\n"
    done = _run([sys.executable, "-c", code], cwd=tmp_path)
    assert done.returncode != 0
    assert "pip install 'project-architect-db[testing]'" in done.stderr


@pytest.mark.subprocess
@pytest.mark.timeout(900)  # dependencies come from pip's cache or the index: slow when cold
def test_a_wheel_installed_alone_runs_demo_and_seed_without_faker(tmp_path: Path) -> None:
    # Build from a copy: setuptools writes build/ next to the sources it builds.
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, source])
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("project_architect_db-*.whl")

    # An empty venv (not even pip: this interpreter's pip installs into it, with --python),
    # and no bytecode compiling: both only cost time.
    venv = tmp_path / "venv"
    created = _run([sys.executable, "-m", "venv", "--without-pip", venv])
    assert created.returncode == 0, created.stderr
    scripts = venv / ("Scripts" if os.name == "nt" else "bin")
    python = scripts / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    installed = _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-compile",
         "--disable-pip-version-check", wheel],
        env=env,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr

    for module in ("faker", "factory"):
        probe = _run([python, "-c", f"import {module}"], env=env)
        assert probe.returncode != 0, f"{module} is installed: the test proves nothing"
        assert "ModuleNotFoundError" in probe.stderr

    cli = scripts / "project-architect-db"
    demo = _run([cli, "demo", "--preset", "tiny", "--database", tmp_path / "demo.duckdb"], env=env)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    for heading in ("Project portfolio", "Project health", "CI/CD health", "full-text search"):
        assert heading in demo.stdout
    assert "(no rows)" not in demo.stdout
    assert "Traceback" not in demo.stderr

    database = tmp_path / "seeded.duckdb"
    assert _run([cli, "init", "--database", database], env=env).returncode == 0
    seeded = _run(
        [cli, "seed", "--database", database, "--preset", "tiny", "--seed", "3", "--json"],
        env=env,
    )
    assert seeded.returncode == 0, seeded.stderr
    summary = json.loads(seeded.stdout)
    assert summary["rows"]["projects"] == 5
    assert summary["total_rows"] > 100
