"""Phone numbers: validated and stored in E.164, China as the default region."""

import phonenumbers

DEFAULT_REGION = "CN"


class InvalidPhone(ValueError):
    pass


def normalise_phone(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """'138 0013 8000' → '+8613800138000'; None for empty input; InvalidPhone if not a number."""
    if raw is None or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhone(raw) from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(normalised: str | None) -> str:
    """How a stored number is shown: national format for China, international otherwise."""
    if not normalised:
        return ""
    number = phonenumbers.parse(normalised, None)
    style = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 86
             else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, style)
