"""Domain errors: raised by services, turned into messages by the interfaces."""


class DomainError(Exception):
    """A request the domain refuses; `message` is safe to show to the person who asked."""

    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not_found"


class PermissionDenied(DomainError):
    code = "forbidden"
