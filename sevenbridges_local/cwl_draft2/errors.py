"""The error of the draft-2 translation."""

from __future__ import annotations


class Draft2Error(ValueError):
    """A construct the translation cannot carry over; ``path`` says where it is."""

    def __init__(self, problem: str, path: str) -> None:
        self.problem = problem
        self.path = path or "the document"
        self.message = f"sbg:draft-2 construct at {self.path}: {problem}."
        super().__init__(self.message)
