import os

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "civicdesk.core"
    label = "core"

    def ready(self) -> None:
        os.register_at_fork(after_in_child=forget_inherited_connection_pools)


def forget_inherited_connection_pools() -> None:
    """In a forked child (an RQ work horse): drop the parent's PostgreSQL pools, unclosed.

    Their connections are the parent's sockets and their maintenance threads did not survive
    the fork; closing them here would close the parent's sessions. The child opens a pool of
    its own on first use.
    """
    from django.db.backends.postgresql.base import DatabaseWrapper

    DatabaseWrapper._connection_pools.clear()  # type: ignore[attr-defined]
