"""The gateway's configuration: one TOML file, read once, checked whole.

Every problem is collected with where it is (`FILE:section.key`) so that an operator fixes a file in one pass
(`ltcgw config check`) instead of one error per restart. Relative paths resolve against the config file's
folder, so a workspace can be moved or copied as a whole.
"""

from __future__ import annotations

import posixpath
import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from gateway.domain.areas import GATEWAY_AREA, KNOWN_AREAS
from gateway.domain.lifecycle import RetryPolicy
from gateway.domain.register import CHECKS, MODES, WARN, CrossChecks, Keyring, RegisterSettings, parse_keys
from gateway.domain.retention import PURGE_EVERY, RetentionPolicy
from gateway.observability.alerts import AlertSettings
from gateway.observability.metrics import MetricsSettings
from gateway.observability.transfer_log import LogSettings
from gateway.i18n import normalize as normalize_language
from gateway.web.settings import ConsoleSettings
from gateway.web.throttle import LoginLimits

DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # measured: a 5.8 MB message peaks at 234 MB RSS when verified
DEFAULT_RETRY = ("10m", "30m", "1h", "2h", "4h")
AREA_CODE = re.compile(r"^\d{6}$")
DEFAULT_SIGNATURE_ALGORITHMS = ("rsa", "ecdsa")
SIGNATURE_ALGORITHMS = ("rsa", "ecdsa", "sm2")
DEFAULT_SM2_USER_ID = b"1234567812345678"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
LEGACY_PERSON_KEY = "person_key_file"  # the id of [settlement] person_key_file's key among the persons' keys


class ConfigError(Exception):
    """The configuration cannot be used: carries every problem found."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    where: str  # FILE:section.key
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True, slots=True)
class TransportSettings:
    """A city's `[cities.CODE.transport]` table: `kind` picks the adapter, the rest is the adapter's own."""

    kind: str
    options: Mapping[str, Any]
    base_dir: Path  # the config file's folder: relative paths in options resolve against it

    def path(self, key: str) -> Path | None:
        value = self.options.get(key)
        return None if value is None else resolve(self.base_dir, str(value))


@dataclass(frozen=True, slots=True)
class CityConfig:
    code: str
    name: str
    certificates: tuple[Path, ...]
    transport: TransportSettings
    service_types: frozenset[str] | None = None  # None: every type the schema knows
    unreachable_after: timedelta | None = None  # None: [health] unreachable_after
    # Signature families the city signs with and receives replies in, preferred first ("rsa", "ecdsa", "sm2").
    signature_algorithms: tuple[str, ...] = DEFAULT_SIGNATURE_ALGORITHMS
    sm2_user_id: bytes = DEFAULT_SM2_USER_ID  # the city's SM2 signer id (GM/T 0009 default unless agreed)
    language: str = "zh-CN"  # of the findings in its NACKs: "zh-CN" or "en" (the codes are the same)
    cross_checks: CrossChecks = field(default_factory=CrossChecks)  # as insured city (issue 12)


@dataclass(frozen=True, slots=True)
class SettlementSettings:
    """`[settlement]`: what `ltcgw deadlines` and `ltcgw reconcile` assume (docs/settlement.md)."""

    holidays: Path | None = None  # folder of YYYY.toml holiday files; None: holidays/ beside the config
    warn_days: int = 3  # warn this many working days before a due date
    pairs: tuple[tuple[str, str], ...] | None = None  # (residence, insured) expected; None: every ordered pair
    a5_pairs: tuple[tuple[str, str], ...] = ()  # (residence, insured) an A5 is carried for (第二十五条: none owed)
    # Deprecated: 第三十一条 applicants were shown by an HMAC under this file's key; now under [register] key_file,
    # the one key for persons (Config.person_keyring keeps this one as a retired key, LEGACY_PERSON_KEY)
    person_key_file: Path | None = None


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    code: str
    key: Path
    certificate: Path
    ledger_path: Path
    spool_dir: Path
    retry: RetryPolicy
    max_message_bytes: int
    workers: int
    rescan_seconds: float
    cities: Mapping[str, CityConfig] = field(default_factory=dict)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    log: LogSettings = field(default_factory=LogSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    settlement: SettlementSettings = field(default_factory=SettlementSettings)
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)  # off unless [retention] says
    ledger_url: str | None = None  # postgresql://…: several instances share the ledger (None: SQLite at ledger_path)
    spool_store: str = "folder"  # "database": the spool in the PostgreSQL ledger
    instance: str | None = None  # this process's name among the instances (None: host:pid)
    lease_seconds: float = 30.0
    sm2_key: Path | None = None  # the gateway's SM2 key, for replies to cities that require SM2
    sm2_certificate: Path | None = None
    sm2_user_id: bytes = DEFAULT_SM2_USER_ID
    register_key_file: Path | None = None  # [register] key_file: the register of entitlements is kept (issue 12)
    register_current_key: str | None = None

    def register_settings(self) -> RegisterSettings | None:
        """The register's keys (read again from their file) and each insured city's checks; None: not kept."""
        if self.register_key_file is None:
            return None
        keyring = parse_keys(self.register_key_file.read_text(encoding="utf-8"), self.register_current_key)
        return RegisterSettings(keyring, {code: city.cross_checks for code, city in self.cities.items()},
                                str(self.register_key_file))

    def person_keyring(self) -> Keyring | None:
        """The one HMAC key for persons: the register's keys ([register] key_file, with their ids and rotation),
        under which the register keeps persons and a 第三十一条 applicant is shown. The deprecated
        `[settlement] person_key_file` named applicants before: its key stays in the keyring as a retired key
        (LEGACY_PERSON_KEY, never current beside the register's), so a person looked up by ID number is also
        matched with what was shown under it; alone (no register kept), it stays the current key, and the
        references shown stay what they were."""
        legacy = self.settlement.person_key_file
        old = ((LEGACY_PERSON_KEY, legacy.read_bytes().rstrip(b"\r\n")),) if legacy is not None else ()
        if self.register_key_file is None:
            return Keyring(old, LEGACY_PERSON_KEY) if old else None
        keyring = parse_keys(self.register_key_file.read_text(encoding="utf-8"), self.register_current_key)
        return Keyring(keyring.keys + old, keyring.current) if old else keyring

    def deprecations(self) -> list[str]:
        """What `config check` warns of: settings still read that an earlier version documented."""
        if self.settlement.person_key_file is None:
            return []
        where = "settlement.person_key_file: deprecated: "
        if self.register_key_file is None:
            return [where + "persons are keyed by [register] key_file (`ltcgw init` writes keys/register.keys): set "
                    "it and this file's key is kept as a retired key, so what was shown under it is still matched"]
        return [where + "persons are keyed by [register] key_file now (applicants are shown under its current key); "
                "this file's key is kept as a retired key until you remove the setting"]

    def trust_store(self) -> Any:
        """Pinned certificates per area (cities, and the gateway under its own code so ACK/NACK verify), with
        the signature families each may use and its SM2 signer id."""
        from gateway.documents.check import TrustStore
        from gateway.documents.keys import certificate_algorithm, load_certificates

        gateway_certs = list(load_certificates(self.certificate))
        if self.sm2_certificate is not None:
            gateway_certs += load_certificates(self.sm2_certificate)
        pinned: dict[str, list[Any]] = {self.code: gateway_certs}
        algorithms = {self.code: tuple(sorted({certificate_algorithm(cert) for cert in gateway_certs}))}
        sm2_user_ids = {self.code: self.sm2_user_id}
        for city in self.cities.values():
            certs: list[Any] = []
            for path in city.certificates:
                certs.extend(load_certificates(path))
            pinned[city.code] = certs
            algorithms[city.code] = city.signature_algorithms
            sm2_user_ids[city.code] = city.sm2_user_id
        return TrustStore(pinned, algorithms=algorithms, sm2_user_ids=sm2_user_ids)


def resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path)


def parse_duration(value: object) -> timedelta:
    """'10m', '1h', '30s', '1.5h' or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"not a duration: {value!r} (write e.g. '30s', '10m', '2h')")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"a duration must be positive: {value!r}")
    return timedelta(seconds=seconds)


# Each transport kind checks its own table; issue 4 registers "sftp" here (adapters/sftp.py).
TransportCheck = Callable[[TransportSettings, str], list[ConfigProblem]]
TRANSPORT_CHECKS: dict[str, TransportCheck] = {}


def register_transport_check(kind: str, check: TransportCheck) -> None:
    TRANSPORT_CHECKS[kind] = check


def _check_local(settings: TransportSettings, where: str) -> list[ConfigProblem]:
    drop = settings.path("drop")
    if drop is None:
        return [ConfigProblem(f"{where}.drop", "missing: the city's drop folder (holding outbox/ and inbox/)")]
    problems = []
    for sub in ("outbox", "inbox"):
        if not (drop / sub).is_dir():
            problems.append(ConfigProblem(f"{where}.drop", f"{drop / sub} is not a folder"))
    return problems


register_transport_check("local", _check_local)


@dataclass(frozen=True, slots=True)
class DropPlace:
    """One folder a city's transport takes files from (`outbox`) or leaves them in (`inbox`), as comparable
    `identity` (two cities on one identity would both take each file) and as an operator reads it (`shown`)."""

    key: str  # the config key under `[cities.CODE.transport]` that puts it there
    role: str  # "outbox" or "inbox"
    identity: tuple[Any, ...]
    shown: str


# Each transport kind says where its folders are; kinds not listed are not compared.
DropPlaces = Callable[[TransportSettings], list[DropPlace]]
DROP_PLACES: dict[str, DropPlaces] = {}


def _local_places(settings: TransportSettings) -> list[DropPlace]:
    drop = settings.path("drop")
    if drop is None:
        return []
    # Resolved (symlinks too): "drops/a" and a link to it are one folder.
    return [DropPlace("drop", role, ("local", str(path)), str(path))
            for role in ("outbox", "inbox") for path in [(drop / role).resolve()]]


def _sftp_places(settings: TransportSettings) -> list[DropPlace]:
    """An SFTP folder is the same when host, port, account and path are (a path is as that account sees it)."""
    options = settings.options
    host, user, port = options.get("host"), options.get("user"), options.get("port", 22)
    if not isinstance(host, str) or not isinstance(user, str) or not isinstance(port, int):
        return []  # the adapter's own check reports it
    places = []
    for role in ("outbox", "inbox"):
        folder = options.get(role)
        if isinstance(folder, str) and folder.strip():
            folder = posixpath.normpath(folder)
            places.append(DropPlace(role, role, ("sftp", host.lower(), port, user, folder),
                                    f"{folder} on sftp {user}@{host}:{port}"))
    return places


DROP_PLACES.update(local=_local_places, sftp=_sftp_places)


def _check_shared_drops(r: _Reader, cities: Mapping[str, CityConfig]) -> None:
    """Each outbox and inbox belongs to one city in one role: two cities polling one outbox both take each
    file (the sender gets an ACK and a NACK for one message); a city's inbox that is another's outbox makes
    the gateway take its own deliveries back as that city's messages."""
    seen: dict[tuple[Any, ...], tuple[str, DropPlace]] = {}
    reported: set[tuple[str, str]] = set()  # one problem per key and other city (a local drop: both folders)
    for code, city in cities.items():
        places = DROP_PLACES.get(city.transport.kind)
        for place in places(city.transport) if places else []:
            first_code, first = seen.setdefault(place.identity, (code, place))
            where = f"cities.{code}.transport.{place.key}"
            if first is place or (where, first_code) in reported:
                continue
            reported.add((where, first_code))
            earlier = f"cities.{first_code}.transport.{first.key}"
            if first_code == code:
                r.problem(where, f"{place.shown} is both {code}'s outbox and its inbox: the gateway would take "
                                 f"back what it delivers; give them different folders")
            elif first.role == place.role:
                r.problem(where, f"cities {first_code} and {code} share one {place.role} ({place.shown}, also "
                                 f"{earlier}): both would take each file and the sender would get an ACK and a "
                                 f"NACK for one message; give each city its own drop")
            else:
                outbox_city, inbox_city = (code, first_code) if place.role == "outbox" else (first_code, code)
                r.problem(where, f"{place.shown} is {inbox_city}'s inbox and {outbox_city}'s outbox (also "
                                 f"{earlier}): {outbox_city} would send back what the gateway delivers to "
                                 f"{inbox_city}; give each city its own drop")


def _pem_problem(path: Path) -> str | None:
    """Why the file holds no usable certificate (None when it holds at least one still valid)."""
    from datetime import datetime, timezone

    from gateway.documents.keys import load_certificates

    try:
        certs = load_certificates(path)  # PEM (several for a rollover) or one DER certificate, SM2 ones too
    except ValueError:
        return f"{path} holds no PEM certificate"
    now = datetime.now(timezone.utc)
    if not any(c.not_valid_before_utc <= now <= c.not_valid_after_utc for c in certs):
        return f"no certificate in {path} is valid now (check the rotation windows)"
    return None


def _key_problem(path: Path) -> str | None:
    """Private keys must not be readable by group or others."""
    if path.stat().st_mode & 0o077:
        return f"{path} is readable by group or others: chmod 600 it"
    return None


class _Reader:
    """Reads typed values out of the TOML tables, noting each problem with its place instead of raising."""

    def __init__(self, path: Path) -> None:
        self.file = path.name
        self.base = path.parent
        self.problems: list[ConfigProblem] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(ConfigProblem(f"{self.file}:{key}", message))

    def table(self, data: Mapping[str, Any], key: str, where: str, required: bool = True) -> Mapping[str, Any]:
        value = data.get(key)
        if value is None:
            if required:
                self.problem(where, "missing table")
            return {}
        if not isinstance(value, dict):
            self.problem(where, "must be a table")
            return {}
        return value

    def value(self, data: Mapping[str, Any], key: str, where: str, kind: type, default: Any = None) -> Any:
        value = data.get(key, default)
        if value is None:
            self.problem(where, "missing")
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problem(where, f"must be {kind.__name__}, found {type(value).__name__}")
            return None
        return value

    def file_path(self, data: Mapping[str, Any], key: str, where: str) -> Path | None:
        value = self.value(data, key, where, str)
        if value is None:
            return None
        path = resolve(self.base, value)
        if not path.is_file():
            self.problem(where, f"no such file: {path}")
        return path

    def unknown_keys(self, data: Mapping[str, Any], known: set[str], where: str) -> None:
        for key in sorted(set(data) - known):
            self.problem(f"{where}.{key}" if where else key, "unknown key (misspelt?)")


def _read_gateway(r: _Reader, data: Mapping[str, Any]) -> dict[str, Any]:
    gw = r.table(data, "gateway", "gateway")
    r.unknown_keys(gw, {"code", "key", "certificate", "workers", "max_message_bytes", "rescan_seconds", "sm2_key",
                        "sm2_certificate", "sm2_user_id"}, "gateway")
    code = r.value(gw, "code", "gateway.code", str, GATEWAY_AREA)
    if code is not None and not AREA_CODE.match(code):
        r.problem("gateway.code", f"{code!r} is not a six-digit area code")
    workers = r.value(gw, "workers", "gateway.workers", int, 1)
    if workers is not None and workers < 1:
        r.problem("gateway.workers", "must be 1 (checks in process) or more (a process pool)")
    max_bytes = r.value(gw, "max_message_bytes", "gateway.max_message_bytes", int, DEFAULT_MAX_MESSAGE_BYTES)
    if max_bytes is not None and max_bytes < 1024:
        r.problem("gateway.max_message_bytes", "must be at least 1024")
    rescan = gw.get("rescan_seconds", 5)
    if isinstance(rescan, bool) or not isinstance(rescan, (int, float)) or rescan <= 0:
        r.problem("gateway.rescan_seconds", "must be a positive number of seconds")
        rescan = 5
    key = r.file_path(gw, "key", "gateway.key")
    if key is not None and key.is_file() and (problem := _key_problem(key)):
        r.problem("gateway.key", problem)
    certificate = r.file_path(gw, "certificate", "gateway.certificate")
    if certificate is not None and certificate.is_file() and (problem := _pem_problem(certificate)):
        r.problem("gateway.certificate", problem)
    return {
        "code": code or GATEWAY_AREA,
        "key": key,
        "certificate": certificate,
        **_read_gateway_sm2(r, gw),
        "workers": workers or 1,
        "max_message_bytes": max_bytes or DEFAULT_MAX_MESSAGE_BYTES,
        "rescan_seconds": float(rescan),
    }


def _read_gateway_sm2(r: _Reader, gw: Mapping[str, Any]) -> dict[str, Any]:
    """`sm2_key` / `sm2_certificate`: the gateway's SM2 pair for replies to cities that require SM2 (国密)."""
    if "sm2_key" not in gw and "sm2_certificate" not in gw:
        return {"sm2_key": None, "sm2_certificate": None, "sm2_user_id": _sm2_user_id(r, gw, "gateway.sm2_user_id")}
    key = r.file_path(gw, "sm2_key", "gateway.sm2_key")
    if key is not None and key.is_file() and (problem := _key_problem(key)):
        r.problem("gateway.sm2_key", problem)
    certificate = r.file_path(gw, "sm2_certificate", "gateway.sm2_certificate")
    if certificate is not None and certificate.is_file():
        if (problem := _pem_problem(certificate)) is not None:
            r.problem("gateway.sm2_certificate", problem)
        elif _algorithms_of(certificate) != {"sm2"}:
            r.problem("gateway.sm2_certificate", f"{certificate} holds no SM2 certificate")
    return {"sm2_key": key, "sm2_certificate": certificate, "sm2_user_id": _sm2_user_id(r, gw, "gateway.sm2_user_id")}


def _sm2_user_id(r: _Reader, table: Mapping[str, Any], where: str) -> bytes:
    value = table.get("sm2_user_id", DEFAULT_SM2_USER_ID.decode())
    if not isinstance(value, str) or not value or len(value.encode()) > 8191:
        r.problem(where, "must be a non-empty string (the SM2 signer id; default 1234567812345678)")
        return DEFAULT_SM2_USER_ID
    return value.encode()


def _algorithms_of(path: Path) -> set[str]:
    from gateway.documents.keys import certificate_algorithm, load_certificates

    try:
        return {certificate_algorithm(cert) for cert in load_certificates(path)}
    except ValueError:
        return set()


def _read_city_signatures(r: _Reader, table: Mapping[str, Any], where: str, certs: list[Path]) -> dict[str, Any]:
    """`signature_algorithms` (preferred first) and `sm2_user_id` of a city."""
    raw = table.get("signature_algorithms", list(DEFAULT_SIGNATURE_ALGORITHMS))
    algorithms = DEFAULT_SIGNATURE_ALGORITHMS
    if not isinstance(raw, list) or not raw or any(name not in SIGNATURE_ALGORITHMS for name in raw):
        r.problem(f"{where}.signature_algorithms", f"must be a non-empty list of {', '.join(SIGNATURE_ALGORITHMS)}")
    else:
        algorithms = tuple(dict.fromkeys(raw))
        held = set().union(*(_algorithms_of(path) for path in certs if path.is_file())) if certs else set()
        if held and not held & set(algorithms):
            r.problem(f"{where}.signature_algorithms", f"none of the city's certificates is {' or '.join(algorithms)} "
                      f"(they are {', '.join(sorted(held))})")
    return {"signature_algorithms": algorithms, "sm2_user_id": _sm2_user_id(r, table, f"{where}.sm2_user_id")}


def _check_reply_keys(r: _Reader, gateway: Mapping[str, Any], cities: Mapping[str, CityConfig]) -> None:
    """Every city must be answerable: the gateway holds a key of a family the city accepts."""
    held: set[str] = set()
    for name in ("certificate", "sm2_certificate"):
        path = gateway.get(name)
        if path is not None and path.is_file():
            held |= _algorithms_of(path)
    if not held:
        return  # the certificate's own problem is reported already
    for city in cities.values():
        if not held & set(city.signature_algorithms):
            r.problem(f"cities.{city.code}.signature_algorithms", f"the gateway has no {' or '.join(city.signature_algorithms)} "
                      "key to sign its replies to this city: add [gateway] sm2_key and sm2_certificate")


def _read_storage(r: _Reader, data: Mapping[str, Any]) -> dict[str, Any]:
    ledger = r.table(data, "ledger", "ledger")
    r.unknown_keys(ledger, {"backend", "path", "url", "instance", "lease_seconds"}, "ledger")
    backend = ledger.get("backend", "sqlite")
    if backend not in ("sqlite", "postgresql"):
        r.problem("ledger.backend", f"unknown backend {backend!r} (known: sqlite, postgresql; or give [ledger] url)")
    instances = _read_instances(r, ledger)
    ledger_value = r.value(ledger, "path", "ledger.path", str) if "url" not in ledger else None
    if instances["ledger_url"] and instances["ledger_url"].startswith("sqlite:///"):
        ledger_value, instances["ledger_url"] = instances["ledger_url"][len("sqlite:///"):], None
    ledger_path = resolve(r.base, ledger_value) if ledger_value else r.base / "ledger.sqlite3"
    if ledger_value and not ledger_path.parent.is_dir():
        r.problem("ledger.path", f"folder {ledger_path.parent} does not exist")
    spool = r.table(data, "spool", "spool")
    r.unknown_keys(spool, {"dir", "store"}, "spool")
    store = r.value(spool, "store", "spool.store", str, "database" if instances["ledger_url"] else "folder")
    if store not in ("folder", "database") or (store == "database" and not instances["ledger_url"]):
        r.problem("spool.store", f"{store!r}: \"database\" (PostgreSQL ledger only) or \"folder\" (a folder every "
                                 "instance shares when the ledger is PostgreSQL)")
    instances["spool_store"] = store
    spool_value = r.value(spool, "dir", "spool.dir", str)
    spool_dir = resolve(r.base, spool_value) if spool_value else r.base
    if spool_value and not spool_dir.is_dir():
        r.problem("spool.dir", f"no such folder: {spool_dir}")
    retry = r.table(data, "retry", "retry", required=False)
    r.unknown_keys(retry, {"waits"}, "retry")
    waits_raw = retry.get("waits", list(DEFAULT_RETRY))
    waits: list[timedelta] = []
    if not isinstance(waits_raw, list) or not waits_raw:
        r.problem("retry.waits", "must be a non-empty list of waits, e.g. [\"10m\", \"30m\", \"1h\"]")
    else:
        for i, raw in enumerate(waits_raw):
            try:
                waits.append(parse_duration(raw))
            except ValueError as exc:
                r.problem(f"retry.waits[{i}]", str(exc))
    policy = RetryPolicy(tuple(waits)) if waits and len(waits) == len(waits_raw) else RetryPolicy()
    return {"ledger_path": ledger_path, "spool_dir": spool_dir, "retry": policy, **instances}


def _read_instances(r: _Reader, ledger: Mapping[str, Any]) -> dict[str, Any]:
    """`[ledger] url` (postgresql://… for several instances, sqlite:///… for one), `instance` (a name for this
    process, default host:pid) and `lease_seconds` (how long work held by a silent instance waits for takeover)."""
    url = r.value(ledger, "url", "ledger.url", str) if "url" in ledger else None
    if url and not url.startswith(("postgresql://", "postgres://", "sqlite:///")):
        r.problem("ledger.url", "must start with postgresql:// (several instances) or sqlite:/// (one)")
        url = None
    if url and ledger.get("path"):
        r.problem("ledger.url", "give either url or path, not both")
    lease = ledger.get("lease_seconds", 30)
    if isinstance(lease, bool) or not isinstance(lease, (int, float)) or lease < 2:
        r.problem("ledger.lease_seconds", "must be a number of seconds, at least 2")
        lease = 30
    instance = r.value(ledger, "instance", "ledger.instance", str) if "instance" in ledger else None
    return {"ledger_url": url, "instance": instance, "lease_seconds": float(lease)}


def _read_city(r: _Reader, code: str, table: Any) -> CityConfig | None:
    where = f"cities.{code}"
    if not AREA_CODE.match(code):
        r.problem(where, f"{code!r} is not a six-digit area code")
    elif code not in KNOWN_AREAS:
        r.problem(where, f"{code} is not a known Shandong area code")
    if not isinstance(table, dict):
        r.problem(where, "must be a table")
        return None
    r.unknown_keys(table, {"name", "certificates", "certificate", "transport", "service_types", "unreachable_after",
                           "signature_algorithms", "sm2_user_id", "language", "cross_checks"}, where)
    name = table.get("name", KNOWN_AREAS.get(code, code))
    certs_raw = table.get("certificates", table.get("certificate"))
    certs: list[Path] = []
    if isinstance(certs_raw, str):
        certs_raw = [certs_raw]
    if not isinstance(certs_raw, list) or not certs_raw:
        r.problem(f"{where}.certificates", "missing: the PEM file(s) holding the city's signing certificate(s)")
    else:
        for i, raw in enumerate(certs_raw):
            path = resolve(r.base, str(raw))
            if not path.is_file():
                r.problem(f"{where}.certificates[{i}]", f"no such file: {path}")
            elif (problem := _pem_problem(path)) is not None:
                r.problem(f"{where}.certificates[{i}]", problem)
            certs.append(path)
    types_raw = table.get("service_types")
    service_types = None
    if types_raw is not None:
        if not isinstance(types_raw, list) or not all(isinstance(t, str) for t in types_raw):
            r.problem(f"{where}.service_types", "must be a list of care-service type codes")
        else:
            service_types = frozenset(types_raw)
    transport = r.table(table, "transport", f"{where}.transport")
    kind = transport.get("kind", "local")
    settings = TransportSettings(str(kind), {k: v for k, v in transport.items() if k != "kind"}, r.base)
    check = TRANSPORT_CHECKS.get(settings.kind)
    if check is None:
        r.problem(f"{where}.transport.kind", f"unknown transport {kind!r} (known: {', '.join(sorted(TRANSPORT_CHECKS))})")
    elif transport:
        for p in check(settings, f"{where}.transport"):
            r.problems.append(ConfigProblem(f"{r.file}:{p.where}", p.message))
    unreachable_after = _duration(r, table, "unreachable_after", f"{where}.unreachable_after", None)
    return CityConfig(code, str(name), tuple(certs), settings, service_types, unreachable_after,
                      **_read_city_signatures(r, table, where, certs), language=_language(r, table, where),
                      cross_checks=_read_cross_checks(r, table, where))


def _language(r: _Reader, table: Mapping[str, Any], where: str) -> str:
    """`language` of a city (its NACKs' messages) or of `[alerts]` (the webhook's meanings): "zh-CN" unless "en"."""
    from gateway.i18n import DEFAULT_LANGUAGE, LANGUAGES

    value = table.get("language", DEFAULT_LANGUAGE)
    if value not in LANGUAGES:
        r.problem(f"{where}.language", f"must be one of {', '.join(repr(tag) for tag in LANGUAGES)}, not {value!r}")
        return DEFAULT_LANGUAGE
    return str(value)



def _read_cross_checks(r: _Reader, table: Mapping[str, Any], where: str) -> CrossChecks:
    """`cross_checks = "refuse"|"warn"|"off"` for every check across documents of claims to this insured city, or a
    table naming checks (and `default`): `cross_checks = { default = "warn", double_billing = "refuse" }`."""
    raw = table.get("cross_checks", WARN)
    key = f"{where}.cross_checks"
    if isinstance(raw, str):
        if raw not in MODES:
            r.problem(key, f"{raw!r}: write one of {', '.join(MODES)}")
            return CrossChecks()
        return CrossChecks(raw)
    if not isinstance(raw, dict):
        r.problem(key, f"must be one of {', '.join(MODES)}, or a table of checks ({', '.join(CHECKS)}) and default")
        return CrossChecks()
    modes = {}
    for name, mode in raw.items():
        if name != "default" and name not in CHECKS:
            r.problem(f"{key}.{name}", f"unknown check (known: default, {', '.join(CHECKS)})")
        elif mode not in MODES:
            r.problem(f"{key}.{name}", f"{mode!r}: write one of {', '.join(MODES)}")
        else:
            modes[name] = mode
    default = modes.pop("default", WARN)
    return CrossChecks(default, modes)


def _read_register(r: _Reader, data: Mapping[str, Any]) -> dict[str, Any]:
    """`[register]`: `key_file` (the HMAC keys, `ID HEX` per line, chmod 600; the last line is the current key
    unless `current_key` names one). Absent: no register is kept and nothing is checked across documents."""
    table = r.table(data, "register", "register", required=False)
    r.unknown_keys(table, {"key_file", "current_key"}, "register")
    if not table:
        return {}
    key_file = r.file_path(table, "key_file", "register.key_file")
    current = r.value(table, "current_key", "register.current_key", str) if "current_key" in table else None
    if key_file is not None and key_file.is_file():
        if (problem := _key_problem(key_file)) is not None:
            r.problem("register.key_file", problem)
        try:
            parse_keys(key_file.read_text(encoding="utf-8"), current)
        except (ValueError, UnicodeDecodeError) as exc:
            r.problem("register.key_file", f"{key_file}: {exc}")
    return {"register_key_file": key_file, "register_current_key": current}


def _check_sftp(settings: TransportSettings, where: str) -> list[ConfigProblem]:
    from adapters.sftp import SftpConfigError, SftpSettings

    try:
        SftpSettings.from_mapping(settings.options, settings.base_dir)
    except SftpConfigError as exc:
        return [ConfigProblem(where, problem) for problem in exc.problems]
    return []


def _register_optional_transports() -> None:
    """SFTP (issue 4) lives in its own adapter, imported only when a config is checked."""
    if "sftp" not in TRANSPORT_CHECKS:
        register_transport_check("sftp", _check_sftp)


def _listener(r: _Reader, table: Mapping[str, Any], section: str,
              default: ConsoleSettings | MetricsSettings) -> tuple[bool, str, int]:
    """`enabled`, `host` and `port` of a table that serves HTTP ([console], [metrics]), defaults filled in."""
    enabled = r.value(table, "enabled", f"{section}.enabled", bool, default.enabled)
    host = r.value(table, "host", f"{section}.host", str, default.host)
    port = r.value(table, "port", f"{section}.port", int, default.port)
    if port is not None and not 0 <= port <= 65535:
        r.problem(f"{section}.port", "must be a TCP port (0 picks a free one)")
    return bool(enabled), host or default.host, default.port if port is None else port


def _read_console(r: _Reader, data: Mapping[str, Any]) -> ConsoleSettings:
    table = r.table(data, "console", "console", required=False)
    legacy = "token_file" in table
    table = {k: v for k, v in table.items() if k != "token_file"}  # an earlier version's shared token
    r.unknown_keys(table, {"enabled", "host", "port", "users_file", "read_only", "language", "session_key_file",
                           "login_failures", "address_failures", "login_window", "lockout", "lockout_max"}, "console")
    default = ConsoleSettings()
    enabled, host, port = _listener(r, table, "console", default)
    read_only = r.value(table, "read_only", "console.read_only", bool, default.read_only)
    if legacy:
        r.problem("console.token_file", "replaced by logins: remove it, set users_file and add accounts with "
                                        "`ltcgw user add NAME --role operator` (docs/operations.md, Web console)")
    # may not exist yet: `ltcgw user add` makes it
    named = r.value(table, "users_file", "console.users_file", str) if "users_file" in table else None
    users_file = resolve(r.base, named) if named else r.base / "console.users"
    if users_file is not None and users_file.is_file() and (problem := _key_problem(users_file)):
        r.problem("console.users_file", problem)
    language = r.value(table, "language", "console.language", str, default.language) or default.language
    try:
        language = normalize_language(language)
    except ValueError as exc:
        r.problem("console.language", str(exc))
        language = default.language
    # may not exist yet: the console makes it at its first start (gateway/web/session_key.py)
    named = r.value(table, "session_key_file", "console.session_key_file", str) if "session_key_file" in table else None
    session_key_file = resolve(r.base, named) if named else r.base / "keys" / "console-session.key"
    if session_key_file.is_file() and (problem := _key_problem(session_key_file)):
        r.problem("console.session_key_file", problem)
    return ConsoleSettings(enabled, host, port, users_file, default.read_only if read_only is None else read_only,
                           language, session_key_file, _read_login_limits(r, table))


_LOGIN_LIMITS = {"login_failures": "failures", "address_failures": "address_failures", "login_window": "window",
                 "lockout": "lockout", "lockout_max": "lockout_max"}  # [console] key -> LoginLimits field


def _read_login_limits(r: _Reader, table: Mapping[str, Any]) -> LoginLimits:
    """How many failed logins of an account or an address within `login_window` lock it out, for how long."""
    default = LoginLimits()
    values: dict[str, Any] = {}
    for key, name in _LOGIN_LIMITS.items():
        if key not in table:
            continue
        if name in ("failures", "address_failures"):
            count = r.value(table, key, f"console.{key}", int)
            if count is not None and count < 1:
                r.problem(f"console.{key}", "must be 1 or more")
            elif count is not None:
                values[name] = count
        elif (span := _duration(r, table, key, f"console.{key}", None)) is not None:
            if span <= timedelta(0):
                r.problem(f"console.{key}", "must be longer than nothing")
            else:
                values[name] = span
    limits = LoginLimits(**{**{n: getattr(default, n) for n in _LOGIN_LIMITS.values()}, **values})
    if limits.lockout > limits.lockout_max:
        r.problem("console.lockout", f"longer than lockout_max ({limits.lockout_max})")
    return limits


def _read_settlement(r: _Reader, data: Mapping[str, Any], cities: Collection[str]) -> SettlementSettings:
    table = r.table(data, "settlement", "settlement", required=False)
    r.unknown_keys(table, {"holidays", "warn_days", "pairs", "a5_pairs", "person_key_file"}, "settlement")
    holidays = None
    if "holidays" in table:
        value = r.value(table, "holidays", "settlement.holidays", str)
        holidays = resolve(r.base, value) if value else None
        if holidays is not None and not holidays.is_dir():
            r.problem("settlement.holidays", f"no such folder: {holidays}")
    warn_days = r.value(table, "warn_days", "settlement.warn_days", int, 3)
    if warn_days is not None and warn_days < 0:
        r.problem("settlement.warn_days", "must be 0 or more working days")
    pairs = _read_pairs(r, table, "pairs", cities) if "pairs" in table else None
    a5_pairs = _read_pairs(r, table, "a5_pairs", cities, empty=True) if "a5_pairs" in table else ()
    person_key_file = None
    if "person_key_file" in table:  # a secret like the console's token: a file only its owner reads
        value = r.value(table, "person_key_file", "settlement.person_key_file", str)
        person_key_file = resolve(r.base, value) if value else None
        if person_key_file is not None and not person_key_file.is_file():
            r.problem("settlement.person_key_file", f"no such file: {person_key_file}")
        elif person_key_file is not None and (problem := _key_problem(person_key_file)):
            r.problem("settlement.person_key_file", problem)
        elif person_key_file is not None and not person_key_file.read_bytes().rstrip(b"\r\n"):
            r.problem("settlement.person_key_file", f"{person_key_file} is empty: no key")
    return SettlementSettings(holidays, 3 if warn_days is None else warn_days, pairs, a5_pairs or (),
                              person_key_file)


def _read_pairs(r: _Reader, table: Mapping[str, Any], key: str, cities: Collection[str],
                empty: bool = False) -> tuple[tuple[str, str], ...] | None:
    """A list of "RESIDENCE->INSURED" pairs of configured cities (`empty`: an empty list is allowed)."""
    raw = table[key]
    if not isinstance(raw, list) or not (raw or empty):
        r.problem(f"settlement.{key}", 'must be a non-empty list like ["370300->370100"] (residence->insured)')
        return None
    pairs = []
    for i, item in enumerate(raw):
        residence, _, insured = str(item).partition("->")
        if not isinstance(item, str) or not insured:
            r.problem(f"settlement.{key}[{i}]", f"{item!r} is not RESIDENCE->INSURED, e.g. \"370300->370100\"")
        elif residence == insured or {residence, insured} - set(cities):
            r.problem(f"settlement.{key}[{i}]", f"{item} must name two different configured cities")
        else:
            pairs.append((residence, insured))
    return tuple(pairs)


def _duration(r: _Reader, table: Mapping[str, Any], key: str, where: str, default: timedelta | None) -> timedelta | None:
    if key not in table:
        return default
    try:
        return parse_duration(table[key])
    except ValueError as exc:
        r.problem(where, str(exc))
        return default


def _read_observability(r: _Reader, data: Mapping[str, Any]) -> dict[str, Any]:
    """`[log]`, `[metrics]`, `[alerts]`, `[health]` (issue 5): all optional, defaults in the dataclasses."""
    log = r.table(data, "log", "log", required=False)
    r.unknown_keys(log, {"path", "rotate", "max_bytes", "backups", "when", "level"}, "log")
    d = LogSettings()
    log_path = r.value(log, "path", "log.path", str) if "path" in log else None
    rotate = r.value(log, "rotate", "log.rotate", str, d.rotate)
    if rotate not in ("size", "time", None):
        r.problem("log.rotate", f"{rotate!r}: write \"size\" (max_bytes) or \"time\" (when)")
    max_bytes = r.value(log, "max_bytes", "log.max_bytes", int, d.max_bytes)
    if max_bytes is not None and max_bytes < 4096:
        r.problem("log.max_bytes", "must be at least 4096")
    backups = r.value(log, "backups", "log.backups", int, d.backups)
    if backups is not None and backups < 1:
        r.problem("log.backups", "must be at least 1 (how many rotated files to keep)")
    when = r.value(log, "when", "log.when", str, d.when)
    if when is not None and when.upper() not in ("S", "M", "H", "D", "MIDNIGHT", *(f"W{i}" for i in range(7))):
        r.problem("log.when", f"{when!r}: write \"midnight\", \"H\", \"D\" or \"W0\"–\"W6\"")
    level = r.value(log, "level", "log.level", str, d.level)
    if level is not None and level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        r.problem("log.level", f"{level!r}: write INFO, WARNING, ERROR or DEBUG")
    log_settings = LogSettings(resolve(r.base, log_path) if log_path else None, rotate or d.rotate,
                               max_bytes or d.max_bytes, backups or d.backups, when or d.when, level or d.level)
    if log_settings.path is not None and not log_settings.path.parent.is_dir():
        r.problem("log.path", f"folder {log_settings.path.parent} does not exist")

    metrics = r.table(data, "metrics", "metrics", required=False)
    r.unknown_keys(metrics, {"enabled", "host", "port"}, "metrics")
    listener = _listener(r, metrics, "metrics", MetricsSettings())

    alerts = r.table(data, "alerts", "alerts", required=False)
    r.unknown_keys(alerts, {"webhook", "webhook_timeout", "webhook_retries", "certificate_days", "language"}, "alerts")
    a = AlertSettings()
    webhook = r.value(alerts, "webhook", "alerts.webhook", str) if "webhook" in alerts else None
    if webhook is not None and not webhook.startswith(("http://", "https://")):
        r.problem("alerts.webhook", f"{webhook!r} is not an http(s) URL")
    timeout = _duration(r, alerts, "webhook_timeout", "alerts.webhook_timeout", timedelta(seconds=a.webhook_timeout))
    retries = r.value(alerts, "webhook_retries", "alerts.webhook_retries", int, a.webhook_retries)
    if retries is not None and not 1 <= retries <= 10:
        r.problem("alerts.webhook_retries", "must be 1 to 10")
    days = r.value(alerts, "certificate_days", "alerts.certificate_days", int, a.certificate_days)
    if days is not None and days < 1:
        r.problem("alerts.certificate_days", "must be at least 1")
    health = r.table(data, "health", "health", required=False)
    r.unknown_keys(health, {"unreachable_after"}, "health")
    unreachable = _duration(r, health, "unreachable_after", "health.unreachable_after", a.unreachable_after)
    return {
        "log": log_settings,
        "metrics": MetricsSettings(*listener),
        "alerts": AlertSettings(webhook, timeout.total_seconds(), retries or a.webhook_retries,
                                days or a.certificate_days, unreachable, _language(r, alerts, "alerts")),
    }


def _read_retention(r: _Reader, data: Mapping[str, Any]) -> RetentionPolicy:
    """`[retention]`: days to keep originals once done with (gateway/domain/retention.py); each off unless set."""
    table = r.table(data, "retention", "retention", required=False)
    r.unknown_keys(table, {"spool_days", "quarantine_days", "outbox_days", "every", "register_days"}, "retention")
    days: dict[str, int | None] = {}
    for key in ("spool_days", "quarantine_days", "outbox_days", "register_days"):
        value = r.value(table, key, f"retention.{key}", int) if key in table else None
        if value is not None and value < 1:
            r.problem(f"retention.{key}", "must be at least 1 day (leave it out to keep originals for ever)")
            value = None
        days[key] = value
    every = _duration(r, table, "every", "retention.every", PURGE_EVERY)
    return RetentionPolicy(**days, every=every or PURGE_EVERY)


def check_config(path: Path | str) -> tuple[Config | None, list[ConfigProblem]]:
    """Read and check the file: the config (when usable) and every problem found."""
    path = Path(path).resolve()
    r = _Reader(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, [ConfigProblem(path.name, f"no such file: {path}")]
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return None, [ConfigProblem(path.name, f"not valid TOML: {exc}")]
    _register_optional_transports()
    r.unknown_keys(data, {"gateway", "ledger", "spool", "retry", "cities", "console", "settlement", "log", "metrics", "alerts", "health", "retention", "register"}, "")
    gateway = _read_gateway(r, data)
    storage = _read_storage(r, data)
    cities_table = r.table(data, "cities", "cities")
    cities: dict[str, CityConfig] = {}
    for code, table in cities_table.items():
        city = _read_city(r, str(code), table)
        if city is not None:
            cities[city.code] = city
    if cities_table and len(cities) < 2:
        r.problem("cities", "at least two cities are needed for an exchange")
    if gateway["code"] in cities:
        r.problem(f"cities.{gateway['code']}", "the gateway's own code cannot be a city")
    _check_reply_keys(r, gateway, cities)
    _check_shared_drops(r, cities)
    console = _read_console(r, data)
    observability = _read_observability(r, data)
    settlement = _read_settlement(r, data, cities)
    retention = _read_retention(r, data)
    register = _read_register(r, data)
    if r.problems:
        return None, r.problems
    config = Config(path=path, cities=cities, console=console, settlement=settlement, retention=retention, **gateway, **storage, **observability, **register)
    return config, []


def load_config(path: Path | str) -> Config:
    """The checked configuration, or ConfigError listing every problem."""
    config, problems = check_config(path)
    if config is None:
        raise ConfigError(problems)
    return config
