"""The emulated meter's optical head: IEC 62056-21 and DLMS/COSEM on one port, one meter.

Assembles what the other modules define: the 1107 server on the model
(:class:`~.iec62056_21_model.ModelOpticalMeter`), the DLMS server on the model
(:func:`~meter_emulator.dlms.model_provider.dlms_server_for`), the multiplexer that picks one
of them by the first octet, and the paced link adapter. Both servers read and write the same
:class:`~meter_emulator.model.Meter` the CCC push reads, so a change made over one port shows
on the others at the same instant (docs/emulator.md).
"""

from __future__ import annotations

from collections.abc import Callable

from ..dlms.model_provider import dlms_server_for
from ..model.meter import Meter
from .iec62056_21 import Iec62056Server
from .iec62056_21_config import OpticalConfig
from .iec62056_21_link import OpticalPort
from .iec62056_21_meter import UserData
from .iec62056_21_model import ModelOpticalMeter
from .links import PtyLink, TcpLink
from .optical_mux import DlmsServerEndpoint, OpticalMux

__all__ = ["optical_head", "optical_mux_for"]


def optical_mux_for(
    meter: Meter,
    *,
    password: str = "12345",
    ccc_available: Callable[[], bool] = lambda: False,
    invocation_counter: Callable[[], int] | None = None,
) -> OpticalMux:
    """Both protocol servers of *meter* behind the first-octet switch.

    *ccc_available* tells the DLMS server when the CCC association may be used (only while
    push is off); the same LLS password serves DLMS and 1107 programming mode. Z18 sets the
    1107 side: disabled (a variant 2 meter's only value: DLMS alone answers), or the readout
    of user data 1 or 2.
    *invocation_counter* numbers the HLS-GMAC answers when Z28 = 1 (the persisted counter).
    """
    iec1107 = meter.config.codes.iec1107  # Z18: 0 disabled, 1 UD, 2 UD2
    readout = UserData.USER_DATA_1 if iec1107 == 1 else UserData.USER_DATA_2
    iec = Iec62056Server(
        ModelOpticalMeter(meter), OpticalConfig(password=password, readout=readout)
    )
    dlms = dlms_server_for(
        meter,
        password=password.encode(),
        ccc_available=ccc_available,
        invocation_counter=invocation_counter,
    )
    return OpticalMux(iec, DlmsServerEndpoint(dlms), iec62056_21_enabled=iec1107 != 0)


def optical_head(
    meter: Meter,
    link: PtyLink | TcpLink,
    *,
    password: str = "12345",
    ccc_available: Callable[[], bool] = lambda: False,
    reaction_time: float = 0.2,
    invocation_counter: Callable[[], int] | None = None,
) -> OpticalPort:
    """The running port on *link* (enter *link* first, then this).

    *reaction_time* (meter seconds, sped up with the link) is IEC 62056-21's tr, at least
    200 ms; the meter keeps the same pace for DLMS answers.
    """
    mux = optical_mux_for(
        meter,
        password=password,
        ccc_available=ccc_available,
        invocation_counter=invocation_counter,
    )
    return OpticalPort(mux, link, reaction_time=reaction_time)
