"""The one error hierarchy. Every error a client can see is an ``AppError`` with a stable
``code``; ``core.problems`` turns it into RFC 9457 problem+json in one place.

``detail`` sentences are message ids looked up in the gettext catalogs (``i18n``), so each
code has one customer-facing sentence per language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class ConfigurationError(Exception):
    """Bad configuration found at start-up: printed as one line, exit status 1."""


class AppError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"
    message: ClassVar[str] = "The request could not be understood."

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Sequence[Mapping[str, str]] | None = None,
        alternatives: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.detail_message = message or self.message
        self.errors = list(errors or [])
        self.alternatives = list(alternatives) if alternatives is not None else None
        self.headers = dict(headers or {})
        self.params = dict(params or {})
        super().__init__(self.detail_message)


class ValidationFailed(AppError):
    status = 422
    code = "validation_error"
    title = "Invalid input"
    message = "Some of the information you sent is not valid."


class NotFound(AppError):
    status = 404
    code = "not_found"
    title = "Not found"
    message = "We could not find what you were looking for."


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"
    message = "Please sign in to continue."


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    message = "The email or password is not correct."


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    title = "Forbidden"
    message = "You are not allowed to do that."


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    message = "This form has expired. Please reload the page and try again."


class Conflict(AppError):
    status = 409
    code = "conflict"
    title = "Conflict"
    message = "That conflicts with existing data."


class SlotUnavailable(Conflict):
    code = "slot_unavailable"
    title = "Slot unavailable"
    message = "Sorry, that time is no longer available."


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "Idempotency key reused"
    message = "This request key was already used for a different request."


class SlugTaken(Conflict):
    code = "slug_taken"
    message = "That booking page address is already taken."


class EmailTaken(Conflict):
    code = "email_taken"
    message = "An account with this email already exists."


class BookingRuleViolated(AppError):
    status = 422
    title = "Booking not possible"


class OutsideWorkingHours(BookingRuleViolated):
    code = "outside_working_hours"
    message = "That time is outside the working hours."


class InsufficientNotice(BookingRuleViolated):
    code = "insufficient_notice"
    message = "That time is too soon to book."


class BeyondHorizon(BookingRuleViolated):
    code = "beyond_horizon"
    message = "That date is too far ahead to book."


class ServiceNotOffered(BookingRuleViolated):
    code = "service_not_offered"
    message = "This professional does not offer this service."


class CancelTooLate(BookingRuleViolated):
    code = "cancel_too_late"
    message = "It is too late to change or cancel this booking online. Please contact us."


class InvalidTransition(BookingRuleViolated):
    code = "invalid_transition"
    message = "This appointment cannot be changed that way any more."


class PreconditionFailed(AppError):
    status = 412
    code = "precondition_failed"
    title = "Precondition failed"
    message = "This was changed by someone else. Please reload and try again."


class PreconditionRequired(AppError):
    status = 428
    code = "precondition_required"
    title = "Precondition required"
    message = "Send the If-Match header with the version you are changing."


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"
    message = "The request is too large."


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"
    message = "Send the request body as JSON."


class MethodNotAllowed(AppError):
    status = 405
    code = "method_not_allowed"
    title = "Method not allowed"
    message = "This address does not accept that method."


class RateLimited(AppError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"
    message = "Too many requests. Please wait a moment and try again."


class Overloaded(AppError):
    status = 503
    code = "overloaded"
    title = "Service busy"
    message = "We are very busy right now. Please try again in a moment."


class ServiceUnavailable(AppError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"
    message = "The service is temporarily unavailable. Please try again in a moment."


class InternalError(AppError):
    status = 500
    code = "internal_error"
    title = "Internal error"
    message = "Something went wrong on our side. Please try again."


class LastOwner(Conflict):
    code = "last_owner"
    message = "A business needs at least one owner."


class MemberOfOtherBusinesses(Conflict):
    code = "member_of_other_businesses"
    message = "This person also works with another business, so only they can change their name."


class InUse(Conflict):
    code = "in_use"
    message = "This is still in use by appointments. Deactivate it instead."


class ClosureExists(Conflict):
    code = "closure_exists"
    message = "The business is already closed on that date."


class CustomerEmailTaken(Conflict):
    code = "customer_email_taken"
    message = "A customer with this email already exists."


class OutboxNotRetryable(Conflict):
    code = "outbox_not_retryable"
    message = "Only messages that failed for good can be sent again."


class WebhookExists(Conflict):
    code = "webhook_exists"
    message = "A webhook with this address already exists."


class WebhookLimitReached(Conflict):
    code = "webhook_limit_reached"
    message = "This business already has the maximum number of webhooks."


class TooManyStreams(RateLimited):
    """More live-update streams from one client than the per-client cap."""

    code = "too_many_streams"
    title = "Too many live connections"
    message = "Too many live update connections from your network. Close a tab and try again."
