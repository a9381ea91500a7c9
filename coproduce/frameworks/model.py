"""A coding framework as plain data: questions, standards, code groups, codes and stances."""

from __future__ import annotations

from dataclasses import dataclass, field

ANSWER_TYPES = ("open", "scale", "yes-no")

AGREE_SCALE = (
    "Strongly agree",
    "Agree",
    "Neither agree nor disagree",
    "Disagree",
    "Strongly disagree",
)
YES_NO_SCALE = ("Yes", "No", "Don't know")


@dataclass(frozen=True)
class QuestionSpec:
    number: int
    text: str
    answer_type: str = "open"  # open | scale | yes-no; scale and yes-no questions may also carry text
    options: tuple[str, ...] = ()  # the closed answers, in order, for scale and yes-no questions
    alternative_wordings: tuple[str, ...] = ()  # other published wordings, matched as well
    chapter: str | None = None

    @property
    def wordings(self) -> tuple[str, ...]:
        return (self.text, *self.alternative_wordings)


@dataclass(frozen=True)
class StandardSpec:
    id: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class CodeSpec:
    id: str
    label: str
    group: str
    description: str = ""
    examples: tuple[str, ...] = ()
    standards: tuple[str, ...] = ()


@dataclass(frozen=True)
class CodeGroupSpec:
    id: str
    label: str
    parent: str | None = None  # groups nest: a group may sit inside another


@dataclass(frozen=True)
class StanceSpec:
    id: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class FrameworkSpec:
    name: str
    version: str
    description: str = ""
    questions: tuple[QuestionSpec, ...] = ()
    standards: tuple[StandardSpec, ...] = ()
    groups: tuple[CodeGroupSpec, ...] = ()
    codes: tuple[CodeSpec, ...] = ()
    stances: tuple[StanceSpec, ...] = ()
    provenance: dict[str, str] = field(default_factory=dict)

    def question(self, number: int) -> QuestionSpec | None:
        return next((q for q in self.questions if q.number == number), None)

    def code(self, code_id: str) -> CodeSpec | None:
        return next((c for c in self.codes if c.id == code_id), None)
