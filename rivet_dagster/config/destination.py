"""`destination:` models (F66-F71), a discriminated union on `type`.

`path` and `prefix` may hold the placeholders `{date}` (UTC YYYY-MM-DD), `{export}`, `{table}`
(= the export name) and `{run_id}` (F71).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from rivet_dagster.config.source import RuleError, StrictModel

_PREFIX = "Key prefix inside the bucket; placeholders {date}, {export}, {table}, {run_id}."


class LocalDestinationConfig(StrictModel):
    """Files in a local (or mounted) directory, created if missing. Each part is staged as a
    dot-file, fsynced and renamed; on ext4, XFS, btrfs and f2fs its bytes bypass the page
    cache (O_DIRECT), so a large export neither pays the copy into the cache nor pushes
    a database on the same host out of it."""

    type: Literal["local"] = Field(description="`local`.")
    path: str = Field(description="Directory (relative to the working directory, or absolute); "
                                  "placeholders {date}, {export}, {table}, {run_id}.")


class S3DestinationConfig(StrictModel):
    """Amazon S3 or an S3-compatible store (MinIO, R2, Wasabi). The bucket must exist."""

    type: Literal["s3"] = Field(description="`s3`.")
    bucket: str = Field(description="Bucket name (must already exist).")
    prefix: str = Field("", description=_PREFIX)
    region: str | None = Field(None, description="AWS region; required with `endpoint`.")
    endpoint: str | None = Field(None, description="For MinIO, R2, moto and other S3-compatible stores.")
    access_key_env: str | None = Field(None, description="Env var holding the access key id "
                                                         "(with secret_key_env).")
    secret_key_env: str | None = Field(None, description="Env var holding the secret key "
                                                         "(with access_key_env).")
    session_token_env: str | None = Field(None, description="Env var holding a session token.")
    aws_profile: str | None = Field(None, description="Profile of the AWS shared config files.")
    allow_anonymous: bool = Field(False, description="Unsigned requests (public or test buckets).")

    @model_validator(mode="after")
    def _keys_in_pairs(self) -> "S3DestinationConfig":
        if (self.access_key_env is None) != (self.secret_key_env is None):
            missing = "secret_key_env" if self.secret_key_env is None else "access_key_env"
            raise RuleError("set both access_key_env and secret_key_env, or neither", field=missing)
        if self.endpoint and not self.region:
            raise RuleError("an S3 endpoint still needs a region (e.g. us-east-1)", field="region")
        return self


class GcsDestinationConfig(StrictModel):
    """Google Cloud Storage; default credentials = ADC / GOOGLE_APPLICATION_CREDENTIALS."""

    type: Literal["gcs"] = Field(description="`gcs`.")
    bucket: str = Field(description="Bucket name (must already exist).")
    prefix: str = Field("", description=_PREFIX)
    credentials_file: str | None = Field(None, description="Service-account JSON key file.")
    endpoint: str | None = Field(None, description="Custom endpoint (e.g. fake-gcs-server).")
    allow_anonymous: bool = Field(False, description="No credentials (emulators, public buckets).")

    @model_validator(mode="after")
    def _anonymous(self) -> "GcsDestinationConfig":
        if self.allow_anonymous and self.credentials_file:
            raise RuleError("allow_anonymous excludes credentials_file", field="credentials_file")
        return self


class AzureDestinationConfig(StrictModel):
    """Azure Blob Storage (or Azurite); the endpoint defaults to https://ACCOUNT.blob.core.windows.net."""

    type: Literal["azure"] = Field(description="`azure`.")
    bucket: str = Field(description="The blob container.")
    prefix: str = Field("", description=_PREFIX)
    account_name: str = Field(description="Storage account name.")
    account_key_env: str | None = Field(None, description="Env var holding the account key.")
    sas_token_env: str | None = Field(None, description="Env var holding a SAS token "
                                                        "(instead of account_key_env).")
    endpoint: str | None = Field(None, description="Custom blob endpoint (e.g. Azurite).")
    allow_anonymous: bool = Field(False, description="No credentials (Azurite, public containers).")

    @model_validator(mode="after")
    def _credentials(self) -> "AzureDestinationConfig":
        if self.account_key_env and self.sas_token_env:
            raise RuleError("use account_key_env or sas_token_env, not both", field="sas_token_env")
        if self.allow_anonymous and (self.account_key_env or self.sas_token_env):
            raise RuleError("allow_anonymous excludes account_key_env and sas_token_env",
                            field="allow_anonymous")
        return self


class StdoutDestinationConfig(StrictModel):
    """Write the single file to standard output (no chunked mode, no max_file_size)."""

    type: Literal["stdout"] = Field(description="`stdout`.")


DestinationConfig = Annotated[
    Union[LocalDestinationConfig, S3DestinationConfig, GcsDestinationConfig,
          AzureDestinationConfig, StdoutDestinationConfig],
    Field(discriminator="type"),
]
