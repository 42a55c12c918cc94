"""Every ORM model, imported once so the metadata is complete (Alembic, tests)."""

from cineflux.accounts import models as accounts_models
from cineflux.billing import models as billing_models
from cineflux.catalog import models as catalog_models
from cineflux.db import Base
from cineflux.delivery import models as delivery_models
from cineflux.mail import models as mail_models
from cineflux.media import models as media_models
from cineflux.playback import models as playback_models
from cineflux.profiles import models as profiles_models
from cineflux.protection import models as protection_models
from cineflux.rights import models as rights_models
from cineflux.telemetry import models as telemetry_models

__all__ = [
    "Base",
    "accounts_models",
    "billing_models",
    "catalog_models",
    "delivery_models",
    "mail_models",
    "media_models",
    "playback_models",
    "profiles_models",
    "protection_models",
    "rights_models",
    "telemetry_models",
]
