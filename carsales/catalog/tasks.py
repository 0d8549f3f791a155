"""Background work of the catalogue."""

from django.core.files.storage import default_storage
from django.db.models import Q
from django_tasks import task

from .models import Car


@task()
def stored_files_delete(names: list[str]) -> int:
    """Delete files no car refers to any more; returns how many were deleted.

    Enqueued in the transaction that dropped the reference (the job row commits or rolls back
    with it), so a file is never deleted for a change that did not happen. Idempotent: a file
    already gone is skipped, so a retried job does no harm.
    """
    # A row may point at the file again by now (a photo re-used, a racing edit): keep those.
    referencing = Car.objects.filter(Q(photo__in=names) | Q(thumbnail__in=names)).values_list("photo", "thumbnail")
    in_use = {name for pair in referencing for name in pair}
    deleted = 0
    for name in names:
        if name and name not in in_use and default_storage.exists(name):
            default_storage.delete(name)
            deleted += 1
    return deleted
