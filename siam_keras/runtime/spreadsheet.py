"""`spreadsheet_safe`: text cells of the CSV and TSV files siam-keras writes, inert in a
spreadsheet.

A spreadsheet opening a CSV file runs a cell that starts with `=` (or `+`, `-`, `@`) as a
formula: a photo named `=cmd|' -C calc'!A0.png`, or a title from a web page, would run
in whoever opens the table. OWASP's rule: such a cell gets a leading apostrophe.
"""

#: What a spreadsheet reads as the start of a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text):
    """`text` as a text cell no spreadsheet takes for a formula: one that starts with =,
    +, -, @, a tab or a carriage return gets a leading apostrophe. Numbers are written as
    numbers, never through here."""
    text = str(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unquoted(text):
    """A cell as `spreadsheet_safe` wrote it, back as it was."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text
