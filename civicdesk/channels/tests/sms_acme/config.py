"""Account settings of the fictional Acme SMS provider."""

from pydantic import Field, SecretStr

from civicdesk.channels.config import AccountConfig


class AcmeSmsConfig(AccountConfig):
    from_number: str = Field("", description="Our number at Acme, in E.164 (+44...).")
    base_url: str = Field("https://api.acme.example", description="Acme's API address.")
    api_key: SecretStr | None = Field(None, description="API key (Bearer) for sending.")
    webhook_secret: SecretStr | None = Field(None, description="Signs Acme's webhooks.")
    verify_token: SecretStr | None = Field(None, description="Echoed in the URL handshake.")
