"""Model evidence in :func:`app.services.classifications.suggest.suggest`: what other
hospitals map this classification's device models to (gathered by
:mod:`app.services.classifications.evidence`), as scores blended into the name's.

The rule (suggest.py's module docstring says where it stands among the others): a class that
at least :data:`MODEL_STRONG_HOSPITALS` other hospitals chose, that is at least
:data:`MODEL_STRONG_SHARE` of the hospitals with any evidence and whose models are at least
that share of this classification's devices scores :data:`MODEL_STRONG` and up (it may be
auto-accepted); weaker evidence scores :data:`MODEL_BASE`..:data:`MODEL_CEILING`, offered and
never auto-accepted. A name's own auto-acceptable class stays first; a 「その他」 most of whose
devices are one known model takes that model's class.
"""
from __future__ import annotations

from typing import NamedTuple

# suggest.AUTO_ACCEPT_THRESHOLD (90; tests/test_suggest_models.py checks they agree).
ACCEPT_AT = 90.0
MODEL_STRONG = 92.0
MODEL_STRONG_HOSPITALS = 2
MODEL_STRONG_SHARE = 0.75
MODEL_BASE = 85.0
MODEL_CEILING = ACCEPT_AT - 1.0


class ModelEvidence(NamedTuple):
    """Other hospitals' mappings of this classification's device models, counts only.

    ``devices``: the classification's own devices; ``with_evidence``: those whose model
    (maker + model number) some other hospital has mapped; ``hospitals``: the other
    hospitals behind any of it; ``votes``: ``((common id, agreeing hospitals, own devices
    of those models), ...)``."""

    devices: int
    with_evidence: int
    hospitals: int
    votes: tuple[tuple[int, int, int], ...]


def model_score(evidence: ModelEvidence, hospitals: int, devices: int) -> float:
    """The score of a class that ``hospitals`` other hospitals chose for the models of
    ``devices`` of this classification's devices (module docstring)."""
    if (hospitals >= MODEL_STRONG_HOSPITALS and hospitals >= MODEL_STRONG_SHARE * evidence.hospitals
            and devices >= MODEL_STRONG_SHARE * evidence.devices):
        return MODEL_STRONG + min(hospitals - MODEL_STRONG_HOSPITALS, 3)
    device_share = devices / max(evidence.with_evidence, 1)
    hospital_share = hospitals / max(evidence.hospitals, 1)
    return min(MODEL_BASE + 3.0 * min(device_share, 1.0) + 1.0 * min(hospital_share, 1.0), MODEL_CEILING)


def with_models(scored: list[tuple[int, float]], evidence: ModelEvidence,
                 context_only: bool) -> list[tuple[int, float]]:
    """The scores with the model evidence blended in (module docstring)."""
    present = {cid for cid, _ in scored}
    from_models = {cid: model_score(evidence, hospitals, devices)
                   for cid, hospitals, devices in evidence.votes if cid in present and devices > 0}
    if not from_models:
        return scored
    devices = {cid: n for cid, _, n in evidence.votes}
    model_best, model_id = max((score, cid) for cid, score in from_models.items())
    if context_only and 2 * devices[model_id] > evidence.devices:
        # 「その他」 most of whose devices are a model known elsewhere: the models say what it is.
        return [(cid, round(from_models[cid], 1)) if cid in from_models
                else (cid, round(min(score, model_best - 1.0), 1)) for cid, score in scored]
    # The name's own auto-acceptable class stays first: a model class is held below it.
    name_leads = [(score, cid) for cid, score in scored if score >= ACCEPT_AT]
    if name_leads:
        lead_score, lead_id = max(name_leads)
        from_models = {cid: score if cid == lead_id else min(score, lead_score - 1.0)
                       for cid, score in from_models.items()}
    return [(cid, round(from_models[cid], 1)) if from_models.get(cid, 0.0) > score else (cid, score)
            for cid, score in scored]
