"""`make test`'s plan (tests/tiers.py) runs every test module once, each with its profile."""

from __future__ import annotations

from pathlib import Path

from tiers import PROFILES_TEST, plan

TESTS = Path(__file__).resolve().parents[1]


def all_test_modules() -> set[str]:
    return {
        str(path.relative_to(TESTS.parent))
        for path in TESTS.rglob("test_*.py")
        if "support" not in path.parts
    }


def covered_by(args: list[str], module: str) -> bool:
    ignored = {a.removeprefix("--ignore=") for a in args if a.startswith("--ignore=")}
    targets = [a for a in args if a.startswith("tests")]
    return module not in ignored and any(
        module == t or module.startswith(t.rstrip("/") + "/") for t in targets
    )


def test_every_test_module_runs_in_exactly_one_step() -> None:
    local, cluster, profiles = plan(["-q"])
    steps = [*local, *cluster, profiles]
    for module in sorted(all_test_modules()):
        runs = [step.name for step in steps if covered_by(step.args, module)]
        assert len(runs) == 1, f"{module} runs in {runs or 'no step'}"


def test_the_cluster_tests_run_under_the_cluster_profile_and_the_rest_under_the_default() -> None:
    local, cluster, profiles = plan([])
    for step in [*local, *cluster, profiles]:
        cluster_tests = any(a.startswith("tests/cluster") for a in step.args)
        assert (step.env.get("TELEMETRY_PROFILE") == "cluster") == cluster_tests, step.name


def test_the_cluster_stack_stays_up_for_the_profiles_test_which_runs_last() -> None:
    _local, cluster, profiles = plan([])
    assert cluster[-1].env.get("TELEMETRY_KEEP_STACK") == "1"
    assert profiles.args == [PROFILES_TEST]
    assert f"--ignore={PROFILES_TEST}" in cluster[-1].args


def test_pytest_options_reach_every_step() -> None:
    local, cluster, profiles = plan(["--durations=25"])
    assert all(step.args[0] == "--durations=25" for step in [*local, *cluster, profiles])
