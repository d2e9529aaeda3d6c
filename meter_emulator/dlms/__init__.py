"""The emulator's DLMS/COSEM server over HDLC (issue 5, section 2): pure and synchronous.

:mod:`.interface` and :mod:`.profile` implement the interface classes (1, 3, 4, 7, 8, 23),
:mod:`.association` the associations and class 15, :mod:`.registry` the objects with their
rights per association, :mod:`.application` the services of one link, :mod:`.server` the link
and application together, :mod:`.provider` the OMNIPOWER object model over a
:class:`~.provider.MeterProvider` that the meter model implements.
"""
