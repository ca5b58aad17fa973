"""The API's request and answer documents (they are also its OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from riskwatch.schema import MAX_COUNT

Count = Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]


class Client(BaseModel):
    """One client's latest record; a label (exited), if sent, is ignored."""

    model_config = ConfigDict(extra="ignore")

    corporation: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    lastmonth_activity: Count
    lastyear_activity: Count
    number_of_employees: Count


class PredictionRequest(BaseModel):
    """Either the clients themselves or, as the classic API did, a data file of the workspace."""

    model_config = ConfigDict(extra="forbid")

    clients: Annotated[list[Client], Field(min_length=1)] | None = None
    dataset: Annotated[StrictStr, Field(min_length=1, max_length=500)] | None = Field(
        default=None,
        description="A data file inside the workspace's data folders, e.g. testdata.csv.",
    )

    @model_validator(mode="after")
    def _one_of(self) -> PredictionRequest:
        if (self.clients is None) == (self.dataset is None):
            raise ValueError("send either 'clients' or 'dataset', not both and not neither")
        return self


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


class CallListRow(BaseModel):
    """One client of the call list."""

    rank: int = Field(description="1 is the client most likely to leave.")
    corporation: str
    probability: float = Field(description="Estimated probability of leaving.")
    risk_band: Literal["high", "medium", "low"]
    reasons: list[str] = Field(description="What raises this client's risk, in words.")
    change: str = Field(description="Since the published list: new, risk up/down N pts, unchanged.")
    previous_rank: int | None = Field(description="Rank on the published list, if it was on it.")


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
    errors: list[dict[str, Any]] | None = None


class Health(BaseModel):
    """The process answers."""

    status: Literal["ok"]


class Ready(BaseModel):
    """A model is deployed and loaded, and the workspace is readable."""

    status: Literal["ready"]
    version: str


class VersionInfo(BaseModel):
    """What is running."""

    riskwatch: str
    model_version: str | None


# Error answers each endpoint may give, for the OpenAPI documents.
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem} for code in (400, 401, 404, 413, 415, 422, 503)
}
