"""Request and response bodies of the HTTP API that more than one router uses."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from babelroom.db.models import Tier, User
from babelroom.tiers import Limits, tier_limits


class LimitsOut(BaseModel):
    """Limits by name; null means unlimited."""

    room_minutes: int | None = Field(examples=[60])
    participants_per_room: int | None = Field(examples=[6])
    concurrent_rooms: int | None = Field(examples=[2])
    history_days: int | None = Field(examples=[7])
    requests_per_hour: int | None = Field(examples=[100])
    voice_samples: int | None = Field(examples=[0])
    vocabulary_terms: int | None = Field(examples=[0])


class FeaturesOut(BaseModel):
    """Feature flags of a tier."""

    quick_audio: bool
    voice_clone: bool
    diarization: bool
    document_context: bool


class TierOut(BaseModel):
    """A tier as the frontend and the jobs see it."""

    name: str = Field(examples=["free"])
    rank: int
    custom: bool = Field(description="Limits are set per organisation (enterprise)")
    limits: LimitsOut
    features: FeaturesOut

    @classmethod
    def of(cls, tier: Tier) -> TierOut:
        limits = tier_limits(tier)
        return cls(name=tier.name, rank=tier.rank, custom=tier.custom, limits=LimitsOut(**limits.as_dict()),
                   features=FeaturesOut(**limits.features))


class EffectiveLimitsOut(BaseModel):
    """What one account may do: its tier with its organisation's and its own overrides applied."""

    tier: str
    limits: LimitsOut
    features: FeaturesOut

    @classmethod
    def of(cls, limits: Limits) -> EffectiveLimitsOut:
        return cls(tier=limits.tier, limits=LimitsOut(**limits.as_dict()), features=FeaturesOut(**limits.features))


class UserOut(BaseModel):
    """An account."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str = Field(examples=["ana@example.org"])
    display_name: str = Field(examples=["Ana"])
    role: str = Field(examples=["user"])
    tier_name: str = Field(examples=["free"])
    organisation_id: uuid.UUID | None
    limit_overrides: dict[str, int | None]
    disabled: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls.model_validate(user)


class ParticipantOut(BaseModel):
    """Someone admitted to a room."""

    model_config = ConfigDict(from_attributes=True)

    user_id: uuid.UUID
    display_name: str
    speaker: bool = Field(description="Holds a speaking-stream slot")
    joined_at: datetime


class IceServerOut(BaseModel):
    """An RTCPeerConnection ``iceServers`` entry: STUN/TURN URLs and, for TURN, time-limited credentials."""

    urls: list[str] = Field(examples=[["turn:turn.example.org:3478?transport=udp"]])
    username: str | None = Field(None, description="TURN username `{expiry}:{user id}` (expiry: Unix time, s)")
    credential: str | None = Field(None, description="TURN password: base64 HMAC-SHA1 of the username")


class JanusJoinOut(BaseModel):
    """What the browser needs to enter the room's Janus VideoRoom (in the create and join answers)."""

    server: str = Field(description="Janus API URL as the browser reaches it")
    room: str = Field(description="VideoRoom room id (string ids)")
    token: str = Field(description="Join token the room's `allowed` list holds for this user")
    id: str = Field(description="Publisher id to join with (the user id: the audio tap maps it to the speaker)")
    display: str = Field(description="VideoRoom display name")
    ice_servers: list[IceServerOut] = Field(
        default_factory=list, description="STUN/TURN servers for participants behind NAT (empty: none configured)")


class RoomOut(BaseModel):
    """A room, its live participants and where its sockets are."""

    id: uuid.UUID
    name: str = Field(examples=["Weekly sync"])
    owner_id: uuid.UUID
    status: str = Field(examples=["open"])
    created_at: datetime
    expires_at: datetime | None = Field(description="When the room closes (null: no limit)")
    closed_at: datetime | None
    close_reason: str | None = Field(examples=[None])
    diarization: bool = Field(False, description="Speakers are labelled inside each participant's audio")
    participants: list[ParticipantOut]
    audio_ws: str = Field(description="Audio socket path (add ?token=…)", examples=["/ws/rooms/…/audio"])
    captions_ws: str = Field(description="Caption socket path (add ?lang=xx&token=…)")
    janus: JanusJoinOut | None = Field(
        None, description="The call (create and join answers, when the SFU is enabled); null otherwise")
