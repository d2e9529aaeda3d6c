"""The emulator's DLMS/COSEM server over HDLC (issue 5, section 2): pure and synchronous.

:mod:`.interface` and :mod:`.profile` implement the interface classes (1, 3, 4, 7, 8, 23),
:mod:`.association` the associations and class 15, :mod:`.registry` the objects with their
rights per association, :mod:`.application` the association of one link, :mod:`.services`
its GET/SET/ACTION, :mod:`.hls` the optional HLS-GMAC, :mod:`.server` the link and the
application together, :mod:`.provider` the OMNIPOWER object model over a
:class:`~.provider.MeterProvider` that the meter model implements.
"""
