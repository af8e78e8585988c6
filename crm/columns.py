"""Column types every area shares: aware UTC datetimes and portable enums; and the length a
column holds, read from the model so that forms and imports check the table's own limit."""

from datetime import UTC

from sqlalchemy import DateTime, Enum
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stores naive UTC (SQLite keeps no zone) and always hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use crm.clock.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_column(enum_cls, **kwargs):
    """A VARCHAR holding the enum's value, the same on SQLite and PostgreSQL."""
    return Enum(enum_cls, native_enum=False, length=20, validate_strings=True,
                values_callable=lambda members: [m.value for m in members], **kwargs)


def column_length(attribute) -> int:
    """The characters a String (or enum) column holds: `column_length(Customer.phone)`.

    Forms and imports take their limits from here, so a length is written once, in the model.
    """
    length = getattr(attribute.type, "length", None)
    if length is None:
        raise TypeError(f"{attribute} has no length; give the limit where it is checked")
    return length
