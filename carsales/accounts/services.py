from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from carsales.core.db import serialize_on
from carsales.core.gone import found_or_made_for, stored_or_gone
from carsales.core.ratelimit import attempt_allowed
from carsales.core.text import upper_per_letter

from .backends import INACTIVE_ACCOUNT_MATCHED, account_for_login, account_spellings, lockout_spelling
from .models import Buyer, validate_phone
from .signals import account_email_owed


def buyer_ensure(*, user: Any) -> Buyer:
    """Return the user's buyer profile, creating it if missing.

    Idempotent: a second call (a repeated signal, a retry) returns the same row. The unique
    one-to-one column is the backstop if two calls race.
    """
    return found_or_made_for(user, Buyer, user=user)  # a user deleted meanwhile: a 404


EMAIL_CHANGE_SALT = "carsales.accounts.email_change"
EMAIL_CHANGE_DAYS = 3
# A profile's email change waiting for its link (Buyer), written together.
EMAIL_CHANGE_FIELDS = ("email_change_to", "email_change_from", "email_change_asked_at")


@transaction.atomic
def buyer_profile_update(
    *, user: Any, first_name: str, last_name: str, email: str, phone: str, base_url: str = ""
) -> str | None:
    """Save the contact details a user keeps on their profile.

    A new email is not applied here: a link goes to the new address (email_change_confirm
    applies it when followed) and a notice to the current one, so a typo or a stolen session
    cannot redirect the account's emails. An address another account uses gets no link, but its
    owner a notice that someone asked (as a sign-up with it does): outwardly the change waits
    for its confirmation alike, so the profile tells no one which addresses have accounts.
    Returns the new address awaiting confirmation, or None. Raises ValidationError, per field,
    when a value does not fit; nothing is saved then.
    """
    email = email.strip().lower()
    others = get_user_model()._default_manager.filter(email__iexact=email).exclude(pk=user.pk)
    owner = others.order_by("-is_active", "pk").first()  # as a sign-up picks the address's account
    buyer = _account_locked(user)
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    buyer.phone = phone.strip()
    user.full_clean(exclude=["password", "username"])
    buyer.full_clean(exclude=["user"])
    user.save(update_fields=["first_name", "last_name"])
    changing = email != (user.email or "").lower()
    if changing:
        # An address is written to a few times an hour at most, however many profiles ask for it,
        # and refused alike whether or not an account has it.
        count, seconds = settings.CARSALES_RATE_LIMITS["password_reset_target"]
        scope = "email_change_confirm" if owner is None else "email_change_taken"
        if not attempt_allowed(scope=scope, key=email, count=count, seconds=seconds):
            raise ValidationError(
                {"email": "We have written to this address several times in the last hour; try again later."}
            )
        if email_change_pending(user=user) != email:  # asked anew: the links sent for another die
            buyer.email_change_to, buyer.email_change_from = email, user.email
            buyer.email_change_asked_at = timezone.now()
    buyer.save(update_fields=["phone", *(EMAIL_CHANGE_FIELDS if changing else ())])
    if not changing:
        return None
    account_email_owed.send(
        sender=get_user_model(), kind="email_change_notice", user_id=user.pk, base_url=base_url, new_email=email
    )
    if owner is None:  # the link that moves the account's emails there, once confirmed
        account_email_owed.send(
            sender=get_user_model(), kind="email_change_confirm", user_id=user.pk, base_url=base_url, new_email=email
        )
    elif owner.is_active:  # its owner told that someone asked for it
        account_email_owed.send(sender=get_user_model(), kind="email_change_taken", user_id=owner.pk, base_url=base_url)
    return email


def _account_locked(user: Any) -> Buyer:
    """The account's buyer row, locked: first, as the account's deletion locks it before the
    account's own row (orders.buyer_leaving), so a write to the account and its deletion queue,
    never deadlock, and an account deleted meanwhile is a 404 (deleted_meanwhile). An account made
    without one (bulk_create) gets it."""
    buyer = Buyer.objects.select_for_update().filter(user_id=user.pk).first()
    if buyer is None:
        buyer_ensure(user=user)
        buyer = stored_or_gone(Buyer.objects.select_for_update(), user_id=user.pk)
    return buyer


def email_change_pending(*, user: Any) -> str | None:
    """The address `user` asked to move their emails to, while its link can still do it: not yet
    followed or dead, and the account's address still the one it was asked from."""
    buyer = Buyer.objects.filter(user=user).only(*EMAIL_CHANGE_FIELDS).first()
    if buyer is None or not buyer.email_change_to or buyer.email_change_from != user.email:
        return None
    asked_at = buyer.email_change_asked_at
    dies_at = asked_at + timedelta(days=EMAIL_CHANGE_DAYS) if asked_at else None
    return buyer.email_change_to if dies_at and timezone.now() < dies_at else None


def email_change_token(*, user: Any, new_email: str) -> str:
    """The signed token of the link that moves `user`'s emails to `new_email`, naming the change
    asked for (its time): it dies once followed, when another change is asked for, when the
    account's address changes by another way, and after EMAIL_CHANGE_DAYS."""
    asked_at = (
        Buyer.objects.filter(user=user, email_change_to=new_email)
        .values_list("email_change_asked_at", flat=True)
        .first()
    )
    asked = asked_at.isoformat() if asked_at else ""  # none: superseded before this was sent
    return signing.dumps({"user": user.pk, "to": new_email, "from": user.email, "asked": asked}, salt=EMAIL_CHANGE_SALT)


def email_change_asked(*, token: str, lock: bool = False) -> dict[str, Any]:
    """The email change a link names (user, from, to), unapplied, while it is the one waiting
    (`lock`: its buyer row locked, for applying it); raises ValidationError for a link that is
    broken, expired, replaced by a newer change or used already."""
    try:
        change = dict(signing.loads(token, salt=EMAIL_CHANGE_SALT, max_age=EMAIL_CHANGE_DAYS * 24 * 3600))
    except signing.BadSignature:
        raise ValidationError("This link is broken or has expired; change your email on your profile again.")
    buyers = Buyer.objects.select_for_update() if lock else Buyer.objects
    waiting = buyers.filter(user_id=change["user"]).values(*EMAIL_CHANGE_FIELDS).first()
    asked_at = waiting["email_change_asked_at"] if waiting else None
    if (
        waiting is None
        or waiting["email_change_to"] != change["to"]
        or asked_at is None
        or asked_at.isoformat() != change.get("asked")
    ):
        raise ValidationError("This link was used already, or a newer one replaced it: use the latest email we sent.")
    return change


@transaction.atomic
def email_change_confirm(*, token: str) -> Any:
    """Apply the email change a link names; returns the user, or raises ValidationError for a
    link that is broken, expired, already used or whose address another account took since."""
    change = email_change_asked(token=token, lock=True)
    users = get_user_model()._default_manager
    serialize_on(f"account-email:{upper_per_letter(change['to'])}")  # as sign-ups: one address, one account
    user = users.select_for_update().filter(pk=change["user"], email=change["from"]).first()
    if user is None:
        raise ValidationError("This link was used already, or your address changed since.")
    if users.filter(email__iexact=change["to"]).exclude(pk=user.pk).exists():
        raise ValidationError("Another account uses this address now.")
    user.email = change["to"]
    user.save(update_fields=["email"])
    Buyer.objects.filter(user=user).update(email_change_to="", email_change_from="", email_change_asked_at=None)
    return user


@transaction.atomic
def account_sign_up(
    *,
    username: str,
    email: str,
    password: str,
    base_url: str,
    phone: str = "",
    first_name: str = "",
    last_name: str = "",
) -> int | None:
    """Begin an account; outwardly the same whether or not `email` already has one. Returns the id
    of the account whose password this sign-up typed (a new one, or its owner's correction), else
    None: the caller keeps it out of sight (the session), since it tells which kind it was, and
    its link logs in at once only where that password was typed (signup_confirm).

    Sign-up must not tell a stranger which emails are registered, so its answer is always
    "check your email", every email goes out from the worker, and the password is hashed
    on both paths, leaving no difference in the response or its timing worth measuring:
    - a new email: an inactive user, and an email with the link that activates it;
    - an active account's email: no second account; its owner is told someone tried to
      sign up with their address, and that they can log in or reset their password;
    - an unfinished sign-up's email: that account's link again (this attempt's name, password
      and phone are dropped; the first sign-up's stand, but whoever follows its link from
      another browser chooses the account's password then: a stranger who signed up first with
      this address keeps no password to it);
    - the email of an account staff deactivated: nothing (no link ever activates it).
    An unfinished sign-up's own username and password again (signup_owners_retry: a typo in its
    address, say) correct it: its name, its phone when one is given, and its address, which gets
    the link (the one sent to the old address dies); an address another account has is told as
    above, and the sign-up left as it was.
    The email is stored lowercased; `phone` (optional) and the name (`first_name`, `last_name`)
    go on a new account, or a corrected one, never on another existing account. Raises
    ValidationError for a username taken, in any case, since the form checked it (sign-ups of
    one name or one address run one at a time), and for a phone that cannot be dialled.
    """
    email, phone = email.strip().lower(), phone.strip()
    if phone:
        try:
            validate_phone(phone)
        except ValidationError as refused:
            raise ValidationError({"phone": refused.messages}) from None
    # The name, then the address: one order, no deadlock. Each as iexact compares it, so two names
    # it takes for one ("admin", and one with a dotless i) wait for each other.
    serialize_on(f"account-name:{upper_per_letter(username)}")
    serialize_on(f"account-email:{upper_per_letter(email)}")
    users = get_user_model()._default_manager
    holder = users.filter(username__iexact=username).select_related("buyer").first()
    if holder is not None and not signup_owners_retry(holder=holder, password=password):
        raise ValidationError({"username": "This username was taken a moment ago; choose another."})
    existing = users.filter(email__iexact=email).select_related("buyer").order_by("-is_active", "pk").first()
    if holder is not None:  # its unfinished sign-up again (a typo in its address, its name)
        if existing in (None, holder):
            holder.email, holder.first_name, holder.last_name = email, first_name.strip(), last_name.strip()
            holder.save(update_fields=["email", "first_name", "last_name"])  # a link to another address dies
            if phone:
                Buyer.objects.filter(user=holder).update(phone=phone)
            existing = holder
        else:
            # The address is another account's: the sign-up stays as it was, but the link sent to
            # its address dies too, as after any correction: the same password hashed anew (a link
            # covers the hash). Written past save(): no new password, so nothing to tell of one.
            users.filter(pk=holder.pk).update(password=make_password(password))
        _known_address_written(existing, base_url=base_url)
        return holder.pk
    elif existing is None:
        user = users.create_user(
            username=username,
            email=email,
            password=password,
            is_active=False,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
        )
        Buyer.objects.filter(user=user).update(signup_pending=True, phone=phone)  # its profile, made as the user was
        # Its receivers (the email, a durable delivery) are written in this transaction: the email
        # is owed if and only if this commits, and retried until sent.
        account_email_owed.send(sender=get_user_model(), kind="signup_confirm", user_id=user.pk, base_url=base_url)
        return user.pk
    else:
        make_password(password)  # the hashing the other path does, so both take as long
        _known_address_written(existing, base_url=base_url)
    return None


@transaction.atomic
def signup_email_again(*, email: str, base_url: str) -> None:
    """The "send it again" of a sign-up's "check your email": the address gets what a sign-up
    with it would send now (the link of its unfinished sign-up, or its owner's notice that
    someone tried), outwardly alike whatever the address is."""
    email = email.strip().lower()
    serialize_on(f"account-email:{upper_per_letter(email)}")
    users = get_user_model()._default_manager
    existing = users.filter(email__iexact=email).select_related("buyer").order_by("-is_active", "pk").first()
    if existing is not None:
        _known_address_written(existing, base_url=base_url)


def _known_address_written(user: Any, *, base_url: str) -> None:
    """A sign-up's email to an address an account has: its owner's notice, its unfinished
    sign-up's link again, or nothing for an account staff deactivated."""
    if user.is_active:
        kind = "signup_taken"
    elif signup_pending(user):
        kind = "signup_confirm"
    else:
        return
    # An address is written to a few times an hour at most, however many addresses sign up with it.
    count, seconds = settings.CARSALES_RATE_LIMITS["password_reset_target"]
    if attempt_allowed(scope="signup_again", key=user.email.lower(), count=count, seconds=seconds):
        account_email_owed.send(sender=get_user_model(), kind=kind, user_id=user.pk, base_url=base_url)


@transaction.atomic
def account_activate(*, user: Any, password: str | None = None) -> bool:
    """Finish a sign-up: the account can log in from now on; returns whether it could. Never
    activates an account that is not a pending sign-up (one staff deactivated), nor one whose
    address changed since `user` was read (its link was checked against that address: a sign-up
    corrected meanwhile sent the link elsewhere). Idempotent. `password`: the one the address's
    owner chose as they followed the link, replacing the sign-up's (typed by whoever signed up).
    Serialized with the sign-ups of its name and address (account_sign_up), and judged by the row
    as stored: a sign-up correcting it since `user` was read (another address, its password hashed
    anew: what its link was checked against) activates nothing, nor does one after it change it."""
    serialize_on(f"account-name:{upper_per_letter(user.get_username())}")
    serialize_on(f"account-email:{upper_per_letter(user.email)}")
    users = get_user_model()._default_manager.select_for_update()
    if users.filter(pk=user.pk).values_list("password", "email").first() != (user.password, user.email):
        return False
    pending = Buyer.objects.filter(user_id=user.pk, signup_pending=True, user__email=user.email)
    if password is not None and pending.select_for_update().exists():
        user.set_password(password)  # while pending: no "password changed" email for it (receivers)
        user.save(update_fields=["password"])
    finished = pending.update(signup_pending=False)
    if finished:
        get_user_model()._default_manager.filter(pk=user.pk).update(is_active=True)
        user.is_active = True
    return bool(finished) or user.is_active


def signup_pending_end(*, user: Any) -> None:
    """An account made active by any path (the link, the admin, a shell) is no pending sign-up
    any more: deactivated later, no sign-up link may activate it again."""
    Buyer.objects.filter(user_id=user.pk, signup_pending=True).update(signup_pending=False)


def signup_owners_retry(*, holder: Any, password: str) -> bool:
    """Whether a sign-up asking for `holder`'s username is `holder`'s own again, correcting it:
    an unfinished sign-up, given its password. Any other holder keeps the name. The password is
    hashed either way, so the answer's time says nothing of which it is."""
    if not signup_pending(holder):
        make_password(password)
        return False
    return bool(holder.check_password(password))


def signup_unfinished_stored(*, user_id: int) -> bool:
    """Whether the account is a sign-up its link has not finished yet, as stored: pending, and
    not made active by another path (a queryset update leaves the mark)."""
    return Buyer.objects.filter(user_id=user_id, signup_pending=True, user__is_active=False).exists()


def signup_pending(user: Any) -> bool:
    """Whether `user` is a sign-up its link has not finished yet."""
    buyer = getattr(user, "buyer", None)
    return buyer is not None and buyer.signup_pending


@transaction.atomic
def api_token_rotate(*, user: Any) -> Token:
    """Give `user` a new API token; the old one, if any, stops working at once. Two asked at
    once (a double click) queue on the user's row: each replaces the one before."""
    get_user_model()._default_manager.select_for_update().filter(pk=user.pk).exists()
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


@transaction.atomic
def password_change(*, user: Any, password: str) -> None:
    """Give `user` the new `password` they chose. Their other sessions end with the old password's
    hash; the caller keeps its own (update_session_auth_hash). The account's address is told, as
    after every new password (receivers.tell_of_new_password), in case it was not them."""
    _account_locked(user)
    user.set_password(password)
    user.save(update_fields=["password"])


def rate_limits_described() -> dict[str, tuple[str, int]]:
    """Every rate limit this app counts under: what it counts, as staff read it beside the key
    (core.ratelimit.limits_reached), and how many attempts it allows per window."""
    limits = settings.CARSALES_RATE_LIMITS
    per_address = limits["password_reset_target"][0]  # the emails to one address or account
    return {
        "signup": ("Accounts asked for from this address", limits["signup"][0]),
        "signup_attempt": ("Sign-up forms sent from this address", limits["signup_attempt"][0]),
        "password_reset": ("Password resets asked for from this address", limits["password_reset"][0]),
        "password_reset_target": ("Password reset emails to this address", per_address),
        "password_change": ("Password changes tried on this account (its username)", limits["password_change"][0]),
        "signup_again": ("Sign-up notices to this address, which has an account", per_address),
        "email_change_taken": ("Notices that someone asked for this taken address", per_address),
        "email_change_confirm": ("Email-change links sent to this address", per_address),
        "signup_resend": ("Sign-up links sent again to the account with this id", per_address),
    }


def lockouts_lift(*, username: str, ip_address: str | None = None) -> int:
    """Lift the lock-outs of this name (at one address, or at all), and of the other spellings of
    the account it names (its username, its email: counted together, see LockoutBackend); returns
    how many."""
    account = account_for_login(username)
    names = {lockout_spelling(username), *(account_spellings(account) if account else ())}
    return sum(reset(username=name, ip=ip_address) for name in names)


def failures_clear(*, user: Any, ip_address: str) -> int:
    """Clear the wrong passwords given for `user` from this address, by any of its spellings."""
    return sum(reset(username=name, ip=ip_address) for name in account_spellings(user))


def login_tries_left(*, request: HttpRequest, username: str) -> int:
    """How many more wrong passwords for `username` from this request's address lock it out
    (AXES_FAILURE_LIMIT, counted as axes counts them: the same for a name no account has, so
    the count tells a stranger nothing of which names exist)."""
    failures = AxesProxyHandler.get_failures(request, {"username": username})
    return max(0, settings.AXES_FAILURE_LIMIT - failures)


@dataclass(frozen=True)
class Lockout:
    username: str  # the account's, for the failures its spellings share; else the name as typed
    ip_address: str | None
    failures_since_start: int
    attempt_time: datetime


def lockouts_current() -> list[Lockout]:
    """The log-ins locked out now, newest first: a name at an address with too many failures, the
    failures typed as an account's username and as its email counted together (LockoutBackend
    refuses the account there, though neither spelling shows a lock alone)."""
    cutoff = timezone.now() - settings.AXES_COOLOFF_TIME
    rows = list(AccessAttempt.objects.filter(attempt_time__gte=cutoff, failures_since_start__gt=0))
    owners = _accounts_spelled(row.username for row in rows)
    counted: dict[tuple[str, str | None], Lockout] = {}
    for row in rows:
        key = (owners.get(row.username, row.username), row.ip_address)
        earlier = counted.get(key)
        failures = row.failures_since_start + (earlier.failures_since_start if earlier else 0)
        latest = max(row.attempt_time, earlier.attempt_time) if earlier else row.attempt_time
        counted[key] = Lockout(key[0], row.ip_address, failures, latest)
    locked = [lock for lock in counted.values() if lock.failures_since_start >= settings.AXES_FAILURE_LIMIT]
    return sorted(locked, key=lambda lock: lock.attempt_time, reverse=True)


def _accounts_spelled(spellings: Iterable[str]) -> dict[str, str]:
    """Each of these lock-out spellings that is an account's username or email: that username.
    One query, however many names an attack tried."""
    names = set(spellings)
    users = get_user_model()._default_manager.annotate(name=Lower("username"), address=Lower("email"))
    return {
        spelling: user.get_username()
        for user in users.filter(Q(name__in=names) | Q(address__in=names))
        for spelling in account_spellings(user)
        if spelling in names
    }


def account_unconfirmed(*, request: HttpRequest) -> Any:
    """The not yet confirmed account this log-in gave the right password for, or None: as the
    authentication backend found it (never while the name is locked out, when no password is
    checked at all)."""
    if getattr(request, "axes_locked_out", False):
        return None
    user = getattr(request, INACTIVE_ACCOUNT_MATCHED, None)
    return user if user is not None and not user.is_active and signup_pending(user) else None


def signup_link_resend(*, user_id: int, base_url: str) -> bool:
    """Send an unconfirmed account its sign-up link again; returns whether one is owed now.
    At most CARSALES_RATE_LIMITS["password_reset_target"] per window to one account."""
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=False, buyer__signup_pending=True).first()
    count, seconds = settings.CARSALES_RATE_LIMITS["password_reset_target"]
    if user is None or not attempt_allowed(scope="signup_resend", key=str(user.pk), count=count, seconds=seconds):
        return False
    account_email_owed.send(sender=get_user_model(), kind="signup_confirm", user_id=user.pk, base_url=base_url)
    return True
