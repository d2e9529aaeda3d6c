"""``omnipower demo``: emulator → gateway → embedded broker, with a live view of the readings."""
