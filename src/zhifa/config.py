"""Settings: environment variables prefixed ``ZHIFA_`` (or a ``.env`` file), validated at start-up.

Every setting is documented in docs/configuration.md; a test keeps the two in step.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from zhifa.domain.cases import (
    DEFAULT_CASE_NUMBER_TEMPLATE,
    DEFAULT_REQUIRED_IMAGES,
    CaseNumberFormat,
    InvalidCaseNumberFormat,
)
from zhifa.domain.jurisdictions import (
    DEFAULT_AUTHORITY_TEMPLATES,
    DivisionCode,
    InvalidDivisionCode,
    Level,
)
from zhifa.domain.overlimit import EXPRESSWAY_ENTRANCE_THRESHOLD_PCT, PartTonne
from zhifa.domain.readings import MIN_RETENTION_MONTHS, VIOLATION_RETENTION_MONTHS
from zhifa.domain.weighings import ImageKind

# A secret containing one of these was typed by a person as a stand-in, not generated.
PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "placeholder", "secret", "example", "password")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ZHIFA_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(
        default=Path("var"),
        description="Where the embedded store keeps its files: SQLite database, evidence, documents.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL of the operational store; empty means SQLite at DATA_DIR/zhifa.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    province_code: str = Field(
        default="340000", description="GB/T 2260 code of the province this deployment serves."
    )
    display_timezone: str = Field(
        default="Asia/Shanghai", description="Zone in which times are shown and documents dated."
    )
    case_number_template: str = Field(
        default=DEFAULT_CASE_NUMBER_TEMPLATE,
        description="Provincial case-number (案号) format; fields {province_abbr}, {jurisdiction_code}, "
        "{jurisdiction_name}, {year}, {seq} (format specs allowed, e.g. {seq:05d}).",
    )
    part_tonne: PartTonne = Field(
        default=PartTonne.DROP,
        description="How a part of 1 000 kg over counts for the 500-yuan steps of 超限规定 第四十三条: "
        "'drop' (default, party's favour) or 'count'.",
    )
    expressway_entrance_threshold_pct: Decimal = Field(
        default=EXPRESSWAY_ENTRANCE_THRESHOLD_PCT,
        description="At expressway-entrance weighing, share of the limit up to which a vehicle is not "
        "over-limit (交办公路明电〔2019〕117号).",
    )
    hearing_threshold_individual_yuan: int = Field(
        default=10_000,
        description="较大数额罚款 for an individual: a fine of at least this gives a right to a hearing "
        "(行政处罚法 第六十三条; provincial, [U]).",
    )
    hearing_threshold_organisation_yuan: int = Field(
        default=100_000,
        description="较大数额罚款 for an organisation (行政处罚法 第六十三条; provincial, [U]).",
    )
    statement_period_working_days: int = Field(
        default=3,
        description="Working days the notice gives for 陈述/申辩 "
        "(not set by national law; local practice, [U]).",
    )
    required_evidence_images: Annotated[tuple[ImageKind, ...], NoDecode] = Field(
        default=DEFAULT_REQUIRED_IMAGES,
        description="Comma-separated image kinds a weighing needs before its case can be filed.",
    )
    plate_nev_marks: str = Field(
        default="DF", description="Letters that mark a new-energy plate (GA 36-2018: D, F)."
    )
    authority_name_province: str = Field(
        default=DEFAULT_AUTHORITY_TEMPLATES[Level.PROVINCE],
        description="Name of the province's enforcement authority; {name} is the division name.",
    )
    authority_name_city: str = Field(
        default=DEFAULT_AUTHORITY_TEMPLATES[Level.CITY], description="Name pattern of a city's authority."
    )
    authority_name_county: str = Field(
        default=DEFAULT_AUTHORITY_TEMPLATES[Level.COUNTY], description="Name pattern of a county's authority."
    )
    public_portal_url: str = Field(
        default="",
        description="Where parties query records and state their case online (行政处罚法 第四十一条第三款).",
    )
    pdf_font_file: Path | None = Field(
        default=None,
        description="A TrueType font with CJK glyphs to embed in PDFs; unset uses the standard "
        "Adobe-GB1 font STSong-Light (not embedded).",
    )
    max_batch_records: int = Field(default=1_000, description="Most records one ingest request may carry.")
    clock_skew_seconds: int = Field(
        default=300, description="How far in the future a device time may lie before it is refused."
    )

    bus: Literal["local", "nats"] = Field(
        default="local",
        description="Where accepted readings wait for their consumers: 'local' (a durable queue in "
        "DATA_DIR/bus.sqlite, one machine) or 'nats' (NATS JetStream, see docs/data-plane.md).",
    )
    bus_partitions: int = Field(
        default=8,
        description="Partitions per reading kind; a vehicle's readings always go to the same one "
        "(CRC-32 of plate and colour). Fixed for the life of a deployment's streams.",
    )
    bus_ack_wait_seconds: float = Field(
        default=30.0, description="A message fetched but not acknowledged this long is delivered again."
    )
    nats_url: str = Field(default="nats://127.0.0.1:4222", description="NATS server(s) when bus is 'nats'.")
    nats_prefix: str = Field(
        default="zhifa", description="Prefix of the JetStream stream names and subjects (zhifa.position.3)."
    )
    nats_max_age_days: float = Field(
        default=7.0, description="How long JetStream keeps a message; the lake is the long-term store."
    )
    lake_dir: Path | None = Field(
        default=None, description="Root of the Parquet telemetry lake; unset means DATA_DIR/lake."
    )
    lake_retention_months_position: int = Field(
        default=MIN_RETENTION_MONTHS,
        description="Months positions are kept in the lake; at least 6 "
        "(道路运输车辆动态监督管理办法 第二十五条).",
    )
    lake_retention_months_passage: int = Field(
        default=MIN_RETENTION_MONTHS, description="Months passages are kept in the lake; at least 6."
    )
    lake_retention_months_weighing: int = Field(
        default=VIOLATION_RETENTION_MONTHS,
        description="Months weighings are kept in the lake; default 3 years, as they are the evidence of "
        "over-limit violations (第二十五条: violation records at least 3 years).",
    )
    lake_writer_in_process: bool = Field(
        default=True,
        description="`zhifa serve` also runs the lake writer in a thread. Turn off when `zhifa worker` "
        "runs as its own process.",
    )

    gateway_host: str = Field(
        default="127.0.0.1",
        description="Interface `zhifa gateway` listens on; set 0.0.0.0 (or the public address) for "
        "real terminals.",
    )
    gateway_port: int = Field(default=6808, description="TCP port of the JT/T 808 gateway.")
    gateway_idle_timeout_seconds: float = Field(
        default=180.0,
        description="A terminal connection silent this long is closed: three missed heartbeats at the "
        "usual 60 s interval (JT/T 808 parameter 0x0001).",
    )
    gateway_max_frame_bytes: int = Field(
        default=4096,
        description="Longest escaped frame accepted; the largest legal one (1 023-byte body, 2019 header, "
        "every byte escaped) is under 2 100 bytes.",
    )
    gateway_frames_per_second: float = Field(
        default=50.0,
        description="Sustained frames per second one connection may send (bursts of 5 s allowed); beyond, "
        "frames are dropped unacknowledged and a connection that keeps flooding is closed.",
    )
    gateway_max_bad_frames: int = Field(
        default=20,
        description="Malformed frames one connection may send per minute before it is closed as flooding; "
        "each one is quarantined with its bytes.",
    )
    gateway_flush_ms: int = Field(
        default=50,
        description="Group commit: positions from all connections are sent to the bus together at most this "
        "often (≤ 100), and each frame is acknowledged (0x8001) once the bus holds it.",
    )
    gateway_subpackage_timeout_seconds: float = Field(
        default=60.0, description="Parts of a subpackaged message (JT/T 808 §4.4.3) are kept this long."
    )

    secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="Deployment secret (at least 32 characters) from which machine clients' signing keys "
        "are derived. Empty: read DATA_DIR/secret_key, creating it (mode 0600) on first start. Every "
        "process of one deployment needs the same secret; changing it invalidates every API key.",
    )
    cookie_secure: bool = Field(
        default=True,
        description="Send the session cookie only over HTTPS (browsers also accept it on "
        "http://localhost). Turn off only for plain-HTTP test set-ups.",
    )
    password_min_length: int = Field(default=12, description="Shortest password accepted [U].")
    password_min_classes: int = Field(
        default=3,
        description="Of lower case, upper case, digits and other characters, how many a password needs.",
    )
    password_hash_time_cost: int = Field(default=3, description="Argon2id passes (RFC 9106 §4).")
    password_hash_memory_kib: int = Field(default=65_536, description="Argon2id memory in KiB (RFC 9106 §4).")
    login_max_failures: int = Field(
        default=5, description="Consecutive failed sign-ins after which an account locks [U]."
    )
    login_lockout_minutes: int = Field(default=15, description="How long a locked account stays locked [U].")
    session_idle_minutes: int = Field(default=30, description="A web session unused this long ends.")
    session_max_hours: int = Field(default=12, description="No web session outlives this.")
    bearer_token_hours: int = Field(default=8, description="Lifetime of an API bearer token.")
    signature_window_seconds: int = Field(
        default=300,
        description="How far a signed machine request's timestamp may be from the server's clock; nonces "
        "are remembered for twice this.",
    )
    rate_limit_login_per_minute: int = Field(
        default=10, description="Sign-in attempts one client address may make per minute."
    )
    rate_limit_public_per_minute: int = Field(
        default=120, description="Requests one client address may make per minute to public endpoints."
    )

    @field_validator("secret_key")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if not raw:
            return value
        if len(raw) < 32:
            raise ValueError(
                "must be at least 32 characters: `python -c 'import secrets; print(secrets.token_hex(32))'`"
            )
        if len(set(raw)) < 8 or any(word in raw.lower() for word in PLACEHOLDER_WORDS):
            raise ValueError("looks like a placeholder; generate a random secret")
        return value

    @field_validator("province_code")
    @classmethod
    def _province(cls, value: str) -> str:
        try:
            code = DivisionCode.parse(value)
        except InvalidDivisionCode as exc:
            raise ValueError(str(exc)) from None
        if code.level is not Level.PROVINCE:
            raise ValueError(f"{value} is not a province code (xx0000)")
        return value

    @field_validator("case_number_template")
    @classmethod
    def _case_number(cls, value: str) -> str:
        try:
            CaseNumberFormat(value)
        except InvalidCaseNumberFormat as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("required_evidence_images", mode="before")
    @classmethod
    def _images(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(ImageKind(part.strip()) for part in value.split(",") if part.strip())
        return value

    @field_validator("expressway_entrance_threshold_pct")
    @classmethod
    def _threshold(cls, value: Decimal) -> Decimal:
        if not Decimal(100) <= value <= Decimal(200):
            raise ValueError("must be between 100 and 200 (% of the limit)")
        return value

    @field_validator("display_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _positive(self) -> Settings:
        for name in (
            "hearing_threshold_individual_yuan",
            "hearing_threshold_organisation_yuan",
            "statement_period_working_days",
            "max_batch_records",
            "password_min_length",
            "password_hash_time_cost",
            "login_max_failures",
            "login_lockout_minutes",
            "session_idle_minutes",
            "session_max_hours",
            "bearer_token_hours",
            "signature_window_seconds",
            "rate_limit_login_per_minute",
            "rate_limit_public_per_minute",
            "bus_partitions",
            "bus_ack_wait_seconds",
            "nats_max_age_days",
            "gateway_idle_timeout_seconds",
            "gateway_max_frame_bytes",
            "gateway_frames_per_second",
            "gateway_max_bad_frames",
            "gateway_subpackage_timeout_seconds",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for kind in ("position", "passage", "weighing"):
            if getattr(self, f"lake_retention_months_{kind}") < MIN_RETENTION_MONTHS:
                raise ValueError(
                    f"lake_retention_months_{kind} must be at least {MIN_RETENTION_MONTHS}: "
                    "道路运输车辆动态监督管理办法 第二十五条 keeps monitoring data six months or more"
                )
        if not 1 <= self.password_min_classes <= 4:
            raise ValueError("password_min_classes must be between 1 and 4")
        if self.password_hash_memory_kib < 8:
            raise ValueError("password_hash_memory_kib must be at least 8")
        if not 1 <= self.gateway_flush_ms <= 100:
            raise ValueError("gateway_flush_ms must be between 1 and 100 (acknowledgements within 100 ms)")
        if not 1 <= self.gateway_port <= 65535:
            raise ValueError("gateway_port must be a TCP port")
        if self.clock_skew_seconds < 0:
            raise ValueError("clock_skew_seconds must not be negative")
        for level in ("province", "city", "county"):
            pattern = getattr(self, f"authority_name_{level}")
            if "{name}" not in pattern:
                raise ValueError(f"authority_name_{level} must contain {{name}}")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'zhifa.db').resolve()}"

    @property
    def resolved_lake_dir(self) -> Path:
        return self.lake_dir if self.lake_dir is not None else self.data_dir / "lake"

    @property
    def authority_templates(self) -> dict[Level, str]:
        return {
            Level.PROVINCE: self.authority_name_province,
            Level.CITY: self.authority_name_city,
            Level.COUNTY: self.authority_name_county,
        }
