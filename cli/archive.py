"""Commands on a registry and its data: ``validate``, ``demo-archive``, ``clear`` (cleared outputs)
and ``codebook`` (a draft public domain)."""

from __future__ import annotations

from pathlib import Path

from cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, console, error


def cmd_validate(args) -> int:
    from registry.validation import validate_registry

    manifest = validate_registry(args.registry, read_data=True)
    print(f"{args.registry}: archive {manifest.archive!r}, {len(manifest.trials)} trials, valid")
    return EXIT_OK


def cmd_demo_archive(args) -> int:
    from registry.demo import write_demo_archive

    path = write_demo_archive(args.directory, n_trials=args.trials, seed=args.seed)
    print(path)
    return EXIT_OK


def cmd_clear(args) -> int:
    from registry.plans import build_plan
    from registry.validation import validate_registry
    from trialsynth.errors import TrialDataError
    from trialsynth.outputs.trial import clear_trial

    manifest = validate_registry(args.registry)
    plan = build_plan(manifest, manifest.trial(args.trial))
    try:
        released = clear_trial(plan)
    except TrialDataError as exc:
        error(exc)
        return EXIT_FAILED
    released.to_json(args.out)
    for line in released.log:
        print(f"  {line}")
    shape = f"{len(released.variables)} variables, {len(released.models)} models, {released.n_rows} rows"
    print(f"{args.out}: {shape}")
    return EXIT_OK


def cmd_codebook(args) -> int:
    from registry.codebook import draft_codebook, write_codebook
    from registry.plans import build_plan
    from registry.validation import validate_registry
    from trialsynth.data.loading import load_trial_data
    from trialsynth.errors import TrialDataError

    manifest = validate_registry(args.registry)
    plan = build_plan(manifest, manifest.trial(args.trial))
    if plan.data_path is None:
        console.print(f"[red]error:[/red] trial {args.trial!r} has no data file to draft from", markup=True)
        return EXIT_USAGE
    try:
        frame, _ = load_trial_data(plan.data_path, plan.trial_id)
        codebook = draft_codebook(frame, plan)
    except TrialDataError as exc:
        error(exc)
        return EXIT_FAILED
    path = write_codebook(Path(args.out), codebook)
    print(f"{path}: {len(codebook['columns'])} columns drafted from the data: review before publishing")
    print(f"then add to the trial's entry: codebook: {path}")
    return EXIT_OK
