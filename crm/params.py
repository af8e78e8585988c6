"""Reading numbers from query strings: only ASCII digits, and only what a database integer
holds. `int("²")` raises and `int("99999999999")` overflows an INTEGER column; both used to
answer 500. A value that is not a usable number is ignored (None)."""

# The largest value of a 32-bit signed INTEGER column (ids, counts of days).
INT_MAX = 2**31 - 1


def int_arg(args, name: str, maximum: int = INT_MAX) -> int | None:
    """The parameter as a non-negative integer, or None when absent, odd or out of range."""
    value = (args.get(name) or "").strip()
    if not (value.isascii() and value.isdecimal()) or len(value) > 12:
        return None
    number = int(value)
    return number if number <= maximum else None
