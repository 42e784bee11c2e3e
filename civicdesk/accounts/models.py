from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicdesk.core.limits import NAME_MAX_LENGTH
from civicdesk.core.models import TimeStampedModel


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMIN = "admin", _("Administrator")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("Staff users need an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", Role.ADMIN)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A member of staff. Citizens are not users: they are `citizens.Citizen` records."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=NAME_MAX_LENGTH)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.AGENT)
    is_staff = models.BooleanField(default=False, help_text=_("May use the admin site."))
    is_active = models.BooleanField(default=True)
    # Presence: only available agents receive new cases automatically.
    is_available = models.BooleanField(default=True)
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    date_joined = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Team(TimeStampedModel):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    members = models.ManyToManyField(User, related_name="teams", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiToken(TimeStampedModel):
    """A bearer token for a member of staff or an integration; only its digest is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=8, help_text=_("First characters, to recognise it."))
    key_digest = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
