from .models import ReceiverFailure


def receiver_failure_record(
    *, signal: str, receiver: str, error: Exception, trace: str, context: dict
) -> ReceiverFailure:
    return ReceiverFailure.objects.create(
        signal=signal, receiver=receiver, error=f"{type(error).__name__}: {error}", traceback=trace, context=context
    )
