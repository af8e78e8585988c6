"""Phone numbers: validated and stored in E.164, China as the default region.

An extension is kept after the number the RFC 3966 way, `+862155556666;ext=8`, so that the
card's `tel:` link dials it and two people behind one switchboard stay two customers. Offices
write extensions as `021-55556666转8`, `… ext. 8`, `… x8`, `… #8` or, on a landline,
`021-55556666-8`; all of them are read the same way.
"""

import re

import phonenumbers

DEFAULT_REGION = "CN"
EXTENSION_MARK = ";ext="
# The longest extension a marker may introduce; a bare trailing "-N" takes 1–5 digits.
MAX_EXTENSION_DIGITS = 7
# A stored number: "+", at most 15 digits, then ";ext=" and the extension.
NORMALISED_MAX_LENGTH = 1 + 15 + len(EXTENSION_MARK) + MAX_EXTENSION_DIGITS

# "转8", "分机 8", "ext. 8", "extension 8", "x8", "#8" at the end of what was typed.
_MARKED_EXTENSION = re.compile(
    rf"\s*(?:转|轉|分机|分機|ext\.?|extn\.?|extension|x|#)\s*[:：.]?\s*"
    rf"(\d{{1,{MAX_EXTENSION_DIGITS}}})\s*$", re.IGNORECASE)
# "021-55556666-8": a landline and an extension joined by a dash.
_DASHED_EXTENSION = re.compile(r"\s*[-–—－]\s*(\d{1,5})\s*$")
_LANDLINE = (phonenumbers.PhoneNumberType.FIXED_LINE,
             phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


class InvalidPhone(ValueError):
    pass


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _split_extension(raw: str, region: str) -> tuple[phonenumbers.PhoneNumber | None, str | None]:
    """The number and its extension (None when there is none), or (None, None)."""
    marked = _MARKED_EXTENSION.search(raw)
    if marked:
        number = _parse(raw[:marked.start()], region)
        return (number, marked.group(1)) if number else (None, None)
    number = _parse(raw, region)
    if number is not None:
        # phonenumbers reads a few markers itself ("ext 8", ";ext=8" in a stored number).
        return number, number.extension or None
    dashed = _DASHED_EXTENSION.search(raw)
    if dashed:
        number = _parse(raw[:dashed.start()], region)
        if number is not None and phonenumbers.number_type(number) in _LANDLINE:
            return number, dashed.group(1)
    return None, None


def normalise_phone(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """'138 0013 8000' → '+8613800138000'; '021-55556666转8' → '+862155556666;ext=8';
    None for empty input; InvalidPhone if not a number."""
    if raw is None or not raw.strip():
        return None
    number, extension = _split_extension(raw.strip(), region)
    if number is None or (extension and len(extension) > MAX_EXTENSION_DIGITS):
        raise InvalidPhone(raw)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164}{EXTENSION_MARK}{extension}" if extension else e164


def without_extension(normalised: str | None) -> str | None:
    """The number a stored phone dials before its extension."""
    return normalised.split(EXTENSION_MARK, 1)[0] if normalised else normalised


def display_phone(normalised: str | None) -> str:
    """How a stored number is shown: national format for China, international otherwise,
    with its extension as "ext. 8" (which the import and the forms read back)."""
    if not normalised:
        return ""
    number = phonenumbers.parse(normalised, None)
    style = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 86
             else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, style)
