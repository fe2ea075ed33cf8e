"""Exceptions whose messages say what to fix."""


class TrialsynthError(Exception):
    """Base class for every error the engine raises on purpose."""


class RegistryError(TrialsynthError):
    """The archive registry (manifest or its data) is invalid; ``problems`` lists every issue."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid registry:\n" + "\n".join(f"  - {p}" for p in self.problems))


class TrialDataError(TrialsynthError):
    """A trial's data cannot be used as it stands (unreadable, empty, missing a column, ...)."""


class MethodNotAvailableError(TrialsynthError):
    """A trial was routed to a synthesiser that is not registered in this installation."""


class ReleaseBlockedError(TrialsynthError):
    """The release gate refused a synthetic file (it reproduces real records)."""


class PrivacyBudgetError(TrialsynthError):
    """A differentially private release would break the epsilon policy or the trial's budget."""


class SignoffError(TrialsynthError):
    """A sign-off that cannot be recorded: no such trial, nothing staged, the file changed."""
