# The console's date and time display: unambiguous, 24-hour, day first.
DATETIME_FORMAT = "j M Y H:i"
SHORT_DATETIME_FORMAT = "j M Y H:i"
DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
