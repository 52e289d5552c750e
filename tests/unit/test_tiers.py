"""`make test`'s plan (tests/tiers.py) runs every test once, each with its profile."""

from __future__ import annotations

from pathlib import Path

from tiers import NO_JOB_TESTS, PROFILES_TEST, Step, plan

TESTS = Path(__file__).resolve().parents[1]


def all_test_modules() -> set[str]:
    return {
        str(path.relative_to(TESTS.parent))
        for path in TESTS.rglob("test_*.py")
        if "support" not in path.parts
    }


def covered_by(step: Step, module: str) -> bool:
    ignored = {a.removeprefix("--ignore=") for a in step.args if a.startswith("--ignore=")}
    targets = [a for a in step.args if a.startswith("tests")]
    return module not in ignored and any(
        module == t or module.startswith(t.rstrip("/") + "/") for t in targets
    )


def marker_expression(step: Step) -> str | None:
    return step.args[step.args.index("-m") + 1] if "-m" in step.args else None


def test_every_test_runs_in_exactly_one_step() -> None:
    """A module runs in one step, or its disruptive tests in one and the others in another."""
    steps = plan(["-q"]).steps
    for module in sorted(all_test_modules()):
        selections = sorted(
            str(marker_expression(step)) for step in steps if covered_by(step, module)
        )
        assert selections in (["None"], ["disruptive", "not disruptive"]), (module, selections)


def test_disruptive_tests_run_first_and_alone_on_the_local_stack() -> None:
    lanes = plan([])
    first, *_ = lanes.local
    assert marker_expression(first) == "disruptive" and "tests/integration" in first.args
    waiting = lanes.spare[-1]  # the spare lane's step that waits for the first to end
    assert marker_expression(waiting) == "not disruptive"
    assert [a for a in waiting.args if a.startswith("tests")] == NO_JOB_TESTS
    others = [s for s in lanes.spare[:-1] if any(covered_by(s, m) for m in NO_JOB_TESTS)]
    assert others == [], "only the waiting step may use the local stack beside the first"


def test_the_cluster_tests_run_under_the_cluster_profile_and_the_rest_under_the_default() -> None:
    for step in plan([]).steps:
        cluster_tests = any(a.startswith("tests/cluster") for a in step.args)
        assert (step.env.get("TELEMETRY_PROFILE") == "cluster") == cluster_tests, step.name


def test_stacks_stay_up_between_steps_and_the_profiles_test_runs_last() -> None:
    lanes = plan([])
    serverless = [s for s in lanes.steps if s.env.get("TELEMETRY_KEEP_STACK") != "1"]
    assert [s.args[-2:] for s in serverless] == [["tests/unit", "tests/deploy"]]
    assert lanes.last.args == [PROFILES_TEST]
    assert all(covered_by(s, PROFILES_TEST) is False for s in [*lanes.local, *lanes.spare])


def test_only_the_spare_lane_runs_at_a_lower_priority() -> None:
    lanes = plan([])
    assert all(step.niceness == 0 for step in [*lanes.local, lanes.last])
    assert all(step.niceness > 0 for step in lanes.spare)


def test_pytest_options_reach_every_step() -> None:
    assert all(step.args[0] == "--durations=25" for step in plan(["--durations=25"]).steps)
