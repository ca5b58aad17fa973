"""The API's request and answer documents (they are also its OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from riskwatch.schema import MAX_COUNT

Count = Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]


class Client(BaseModel):
    """One client's latest record; a label (exited), if sent, is ignored."""

    # Any other field is refused by name: a misspelt one must not be dropped in silence.
    model_config = ConfigDict(extra="forbid")

    corporation: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    lastmonth_activity: Count
    lastyear_activity: Count
    number_of_employees: Count
    exited: Any = Field(
        default=None, exclude=True, description="The label, if sent: accepted and ignored."
    )


FileName = Annotated[StrictStr, Field(min_length=1, max_length=500)]


class PredictionRequest(BaseModel):
    """Either the clients themselves or, as the classic API did, a data file of the workspace."""

    model_config = ConfigDict(extra="forbid")

    clients: Annotated[list[Client], Field(min_length=1)] | None = None
    dataset: FileName | None = Field(
        default=None,
        description="A data file inside the workspace's data folders, e.g. testdata.csv.",
    )
    filepath: FileName | None = Field(
        default=None,
        description="The classic API's name for dataset, e.g. testdata/testdata.csv.",
    )

    @model_validator(mode="after")
    def _one_of(self) -> PredictionRequest:
        given = [name for name in ("clients", "dataset", "filepath") if getattr(self, name)]
        if len(given) != 1:
            sent = f"; this request sends {' and '.join(given)}" if given else ""
            raise ValueError(
                "send exactly one of 'clients', 'dataset' or 'filepath' (the classic name "
                f"of 'dataset'){sent}"
            )
        return self

    def data_file(self) -> tuple[str, str] | None:
        """The field naming a workspace data file, and the name; None for inline clients."""
        if self.dataset is not None:
            return "dataset", self.dataset
        return ("filepath", self.filepath) if self.filepath is not None else None


class ClientPrediction(BaseModel):
    """The answer for one client."""

    position: int = Field(description="The client's index in the request (or data row).")
    corporation: str
    probability: float = Field(description="Estimated probability of leaving.")
    label: Literal[0, 1] = Field(description="1 when probability >= the decision threshold.")
    risk_band: Literal["high", "medium", "low"]
    reasons: list[str] | None = Field(
        default=None, description="What raises this client's risk, in words (as the call list)."
    )


class PredictionResponse(BaseModel):
    """Predictions of the deployed model."""

    version: str
    threshold: float
    dataset: str | None = None
    clients: list[ClientPrediction]


class LastContact(BaseModel):
    """A client's latest contact recorded in the ledger."""

    contacted_at: str = Field(description="When the client was called (UTC).")
    outcome: Literal["reached", "no_answer", "saved", "lost", "declined"]


class CallListRow(BaseModel):
    """One client of the call list."""

    rank: int = Field(description="1 is the client most likely to leave.")
    corporation: str
    probability: float = Field(description="Estimated probability of leaving.")
    risk_band: Literal["high", "medium", "low"]
    reasons: list[str] = Field(description="What raises this client's risk, in words.")
    change: str = Field(description="Since the published list: new, risk up/down N pts, unchanged.")
    previous_rank: int | None = Field(description="Rank on the published list, if it was on it.")
    last_contact: LastContact | None = Field(
        description="The client's latest recorded contact; none when never contacted."
    )
    value: float | None = Field(
        None, description="The client's value (call_list_value), when ranked by value."
    )
    expected_loss: float | None = Field(
        None, description="Risk times value, the rank's order, when ranked by value."
    )
    holdout: bool = Field(
        description="In the published list's control group: not to be called, so the team can "
        "see what calls achieve (docs/control-group.md)."
    )


class ListRef(BaseModel):
    """A call list published to the managers."""

    id: int | None = Field(description="Its id in the metadata database (none: known from file).")
    published_at: str


class CallListResponse(BaseModel):
    """The call list now, ranked, compared with the list last published (none: first list)."""

    version: str = Field(description="The model that scored the clients.")
    clients: int = Field(description="Current clients scored.")
    departed: int = Field(description="Clients whose latest record says they left: not listed.")
    published: ListRef | None = Field(description="Always none here: a GET publishes nothing.")
    compared_with: ListRef | None
    top: list[CallListRow]


class Problem(BaseModel):
    """An error: what is wrong and, for bad input, where."""

    detail: str
    errors: list[dict[str, Any]] = Field(
        description="Each problem: field (null for the request as a whole), message, and for "
        "a client its position."
    )


class Health(BaseModel):
    """The process answers."""

    status: Literal["ok"]


class Ready(BaseModel):
    """A model is loaded and answering, and the workspace is readable."""

    status: Literal["ready"]
    version: str = Field(description="The version of the model being served.")
    deployed_version: str | None = Field(
        description="The version production points at; differs from version while it cannot "
        "be loaded (then warning says why).",
    )
    warning: str | None = Field(
        default=None, description="Set when the deployed model is not the one served."
    )


class VersionInfo(BaseModel):
    """What is running."""

    riskwatch: str
    model_version: str | None


# Error answers each endpoint may give, for the OpenAPI documents.
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem} for code in (400, 401, 404, 413, 415, 422, 503)
}
