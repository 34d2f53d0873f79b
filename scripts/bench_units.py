"""Units shared by the benchmark scripts: sizes written like `1GiB`, `4KiB`, `512`."""

MIB = 1024 * 1024


def size(text):
    """Bytes in `text`, e.g. `1GiB`, `4KiB`, `8MiB` or a plain number."""
    units = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
    for unit, factor in units.items():
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)
