"""Reading `merchants/<name>.yaml` into the environment (settings) one merchant's code location runs with.

    name: acme                                # optional: the file's stem
    systems:                                  # <system>.<key> is the setting <SYSTEM>_<KEY>
      shipstation: {base_url: https://ssapi.shipstation.com, sync_start: "2026-01-01T00:00:00+05:30"}
      tally: {url: "http://10.0.0.5:9000", company: Acme Traders Pvt Ltd}
    credentials:                              # secret settings: where each value comes from, never the value
      SHIPSTATION_API_KEY: {env: ACME_SHIPSTATION_API_KEY}
      TALLY_AGENT_TOKEN: {store: ACME_TALLY_AGENT_TOKEN}
    mappings:
      sku_map: {"SS-BLUE-1": "Widget Blue"}   # inline (written to the merchant's state dir), or a CSV path
      tally: {sales_ledger: Sales - Online}   # like systems: TALLY_SALES_LEDGER
    schedules:                                # by schedule name: a cron (runs at that time), "on" or "off"
      shipstation_tally_master_alignment_schedule: "17 * * * *"
    settings: {WEBHOOK_PORT: "8081"}          # anything else, by its environment variable

Every setting must exist in ml-connector's Settings; a mistake names the file and the key.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ml_connector.config import Settings
from state.credentials import secret as stored_secret

MERCHANTS_DIR_ENV = "ML_CONNECTOR_MERCHANTS_DIR"  # where the files are (default: ./merchants)
MERCHANTS_HOME_ENV = "ML_CONNECTOR_MERCHANTS_HOME"  # each merchant's state dir is <this>/<name>
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")


class MerchantConfigError(ValueError):
    """A merchant file that cannot be used; the message names the file and the key."""


class CredentialRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    env: str | None = None
    store: str | None = None

    def resolve(self, environ: Mapping[str, str]) -> str | None:
        if self.env:
            return environ.get(self.env) or None
        return (stored_secret(self.store, environ) or None) if self.store else None


class Merchant(BaseModel):
    """One merchant's file, checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    path: Path
    systems: dict[str, dict[str, Any]] = Field(default_factory=dict)
    credentials: dict[str, CredentialRef] = Field(default_factory=dict)
    mappings: dict[str, Any] = Field(default_factory=dict)
    schedules: dict[str, str] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("a merchant name is lower-case letters, digits, '-' or '_', starting with a letter")
        return value

    def home(self, environ: Mapping[str, str]) -> Path:
        base = environ.get(MERCHANTS_HOME_ENV) or str(Path(environ.get("ML_CONNECTOR_HOME", ".ml-connector")) /
                                                       "merchants")
        return Path(base).resolve() / self.name

    def environment(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The settings this merchant's processes run with (secrets resolved from their references)."""
        source = os.environ if environ is None else environ
        env = {"ML_CONNECTOR_MERCHANT": self.name, "ML_CONNECTOR_HOME": str(self.home(source))}
        for system, values in self.systems.items():
            env |= self._prefixed(f"systems.{system}", system, values)
        for key, value in self.mappings.items():
            if key == "sku_map":
                env["TALLY_SKU_MAP"] = self._sku_map(value, Path(env["ML_CONNECTOR_HOME"]))
            elif isinstance(value, Mapping):
                env |= self._prefixed(f"mappings.{key}", key, value)
            else:
                raise self.error(f"mappings.{key}", "expected sku_map or a system's mapping settings")
        env |= {self._setting("settings", name): _text(value) for name, value in self.settings.items()}
        for name, ref in self.credentials.items():
            value = ref.resolve(source)
            if value is None:
                raise self.error(f"credentials.{name}", f"{ref.env or ref.store} is not set"
                                 f" ({'environment' if ref.env else 'credential store'})")
            env[self._setting("credentials", name)] = value
        return env

    def _prefixed(self, where: str, system: str, values: Mapping[str, Any]) -> dict[str, str]:
        if not isinstance(values, Mapping):
            raise self.error(where, "expected a mapping of settings")
        return {self._setting(f"{where}.{key}", f"{system}_{key}"): _text(v) for key, v in values.items()}

    def _setting(self, where: str, name: str) -> str:
        name = name.upper()
        if name.lower() not in Settings.model_fields:
            raise self.error(where, f"{name} is not an ml-connector setting")
        return name

    def _sku_map(self, value: Any, home: Path) -> str:
        if isinstance(value, str):
            return str((self.path.parent / value).resolve())
        if not isinstance(value, Mapping):
            raise self.error("mappings.sku_map", "expected {sku: stock item} or a CSV path")
        home.mkdir(parents=True, exist_ok=True)
        target = home / "sku_map.csv"
        with open(target, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([("sku", "stock_item"), *((str(k), str(v)) for k, v in value.items())])
        return str(target)

    def error(self, where: str, message: str) -> MerchantConfigError:
        return MerchantConfigError(f"{self.path}: {where}: {message}")

    def settings_model(self, environ: Mapping[str, str] | None = None) -> Settings:
        """This merchant's Settings, as its code location sees them."""
        source = dict(os.environ if environ is None else environ)
        return Settings.from_env(source | self.environment(source))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_merchant(path: Path | str) -> Merchant:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise MerchantConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise MerchantConfigError(f"{path}: expected a mapping at the top")
    try:
        return Merchant(path=path.resolve(), **{"name": path.stem, **raw})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise MerchantConfigError(f"{path}: {problems}") from exc


def merchants_dir(environ: Mapping[str, str] | None = None) -> Path:
    return Path((os.environ if environ is None else environ).get(MERCHANTS_DIR_ENV) or "merchants")


def merchant_files(directory: Path | str | None = None) -> dict[str, Path]:
    """Every `<name>.yaml` in the merchants directory, by name (files may be broken: see load_merchant)."""
    folder = Path(directory) if directory else merchants_dir()
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def load_merchants(directory: Path | str | None = None) -> list[Merchant]:
    """Every merchant file, loaded; the first broken one raises (use merchant_files to load them one by one)."""
    merchants = [load_merchant(p) for p in merchant_files(directory).values()]
    names = [m.name for m in merchants]
    if len(set(names)) != len(names):
        raise MerchantConfigError(f"two merchant files give the same name: {sorted(names)}")
    return merchants
