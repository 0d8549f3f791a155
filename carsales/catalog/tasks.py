"""Background work of the catalogue."""

from django.core.files.storage import default_storage
from django_tasks import task


@task()
def stored_files_delete(names: list[str]) -> int:
    """Delete files no car refers to any more; returns how many were there.

    Enqueued in the transaction that dropped the reference (the job row commits or rolls back
    with it), so a file is never deleted for a change that did not happen. Idempotent: a file
    already gone is skipped, so a retried job does no harm.
    """
    deleted = 0
    for name in names:
        if name and default_storage.exists(name):
            default_storage.delete(name)
            deleted += 1
    return deleted
