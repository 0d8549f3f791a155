"""One way to write a date and a time on every page and in every email (FORMAT_MODULE_PATH):
"6 Dec 2026" and "6 Dec 2026, 07:43 UTC", the zone always named."""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i T"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i T"
