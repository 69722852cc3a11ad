"""The one domain error of schedules: an illegal config or a program the rules cannot schedule."""


class ScheduleError(ValueError):
    """A config does not fit its space, or a schedule step is illegal for the program.

    The message names the knob, the value given and what would be valid, so a person (or the
    search, which catches it and records a failed trial) knows what to change.
    """
