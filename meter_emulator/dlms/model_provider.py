"""The meter model behind the DLMS server: :class:`ModelProvider` is a
:class:`~.provider.MeterProvider` over :class:`~meter_emulator.model.Meter`, and
:func:`dlms_server_for` builds the server the optical port (or its mux) runs.

Every call reads the model at that instant, so a GET, a CCC push and a 1107 readout made at the
same simulated moment show the same registers, and a SET is the model's own command, seen at
once by the other ports (docs/emulator.md). The rights (who may write what) are the
registry's; this module only turns values into A-XDR and writes into model commands.

Values and scalers (docs/emulator.md): registers are raw integers at the meter's configured
resolution, the very numbers the CCC push carries (``Meter.push_snapshot``), and attribute 3
says so: energies at ``10**energy_scaler`` Wh (1 Wh or 10 Wh), voltages at 1 V or 0.01 V,
currents at 0.01 A (0.001 A on CT meters), power factor and frequency at 0.01, THD at 0.1 %.
Prepayment registers count Wh: the table's kWh at scaler −3.

Writes, and the results a refusal gets:

- **CouplingState** takes 1 disconnect, 2 release (only from 1), 3 reconnect (only from 8), as
  the model's breaker does; a transition its state forbids is *temporary-failure* (valid later,
  not now), any other value *other-reason*.
- **ActualTariff**: 1–4 forces that tariff, **0 returns to the calendar or the module's
  inputs** — the convention the gateway's tariff command relies on (Kamstrup is silent); the
  model has 4 tariffs, so 5–8 are *other-reason*.
- **A14_Prepayment** (primary module only): the new credit; the difference is booked as a
  top-up, which first settles energy used after zero, as the model's top-up does. Credit is never
  lowered this way (*other-reason*).
- **EventStatusB**: the bits written are cleared from the latched event status.
- **Clock**: attribute 2 sets the local time, the DST bit settling the repeated autumn hour.
  Inside the summer-time window the DST bit must be set ([DLMS] §3); a set without it,
  a time the clock skips, or a field left unspecified is *other-reason*. shift_time takes
  −900…900 s (Blue Book class 8).
- **Load profile capture_period**: the model's integration period is a configuration code (Z4),
  so only the current value is accepted.
- Everything else: a wrong A-XDR type is *type-unmatched*, a value out of range *other-reason*.

Objects the model does not keep are absent (object-undefined): L2/L3 on a single-phase meter,
A−/R± where the energy type lacks them, current THD, the breaker and prepayment objects on a
meter without a breaker, and the prepayment objects while prepayment is disabled (the readout
leaves them out too; the gateway reads the prepayment state from their presence).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final, TypeAlias

from ccc_gateway.protocol.axdr import CosemDateTime, Data, DataType
from ccc_gateway.protocol.cipher import Keys
from ccc_gateway.protocol.dlms.control import LinkParameters
from ccc_gateway.protocol.dlms.descriptors import CaptureObject
from ccc_gateway.protocol.dlms.enums import ActionResult, DataAccessResult

from ..model.breaker import BreakerRefused
from ..model.firmware import ImageInvalid, image_signature, verify_image
from ..model.meter import Meter
from .association import HlsGmacServer
from .display_lists import DISPLAY_LISTS, DisplayList
from .image_transfer import ImageTransfer
from .logs import LOGS
from .model_profiles import NOT_SPECIFIED, date_time, load_profile_columns, load_profile_rows
from .model_values import (
    ENERGY,
    OK,
    PEAKS,
    REFUSED,
    Read,
    Write,
    read_table,
    scaler_of,
    write_table,
)
from .provider import build_omnipower_registry, omnipower_associations
from .server import DlmsServer

__all__ = ["ModelProvider", "display_lists_for", "dlms_server_for", "image_transfer_for"]

Row: TypeAlias = tuple[Data, ...]

_BREAKER_OBJECTS: Final = ("coupling_", "cutoff_basis", "prepayment_")
_REACTIVE_MAXIMA: Final = (
    "max_reactive",
    "max_apparent",
    "accumulated_max_reactive",
)
#: Blue Book class 8 shift_time limits (seconds).
SHIFT_LIMIT_S: Final = 900


class ModelProvider:
    """The OMNIPOWER objects of one :class:`Meter` (see the module docstring)."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self._reads: dict[str, tuple[DataType, Read]] = read_table(meter)
        self._writes: dict[str, Write] = write_table(meter)
        self._profile_key: object = None
        self._profile_rows: list[Row] = []

    # --- MeterProvider ------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        meter = self.meter
        kind = meter.identity.type_number.energy_type
        if name[-3:] in ("_l2", "_l3") and int(name[-1]) > meter.config.phases:
            return False
        if name == "voltage_unbalance":
            return meter.config.phases == 3
        if name.startswith("current_thd"):
            return False  # the model keeps the voltage THD only
        if name.startswith("prepayment_"):
            # Like the readout, which shows 130.0.x only then: prepayment is the meter's state.
            return meter.breaker.present and meter.prepayment.enabled
        if name.startswith(_BREAKER_OBJECTS):
            return meter.breaker.present
        if name in ENERGY:
            return meter.energy.has(ENERGY[name])
        if name in ("active_power_export",):
            return kind.has_export
        if name in ("reactive_power_import", "reactive_power_export"):
            return kind.has_reactive
        if name.startswith(_REACTIVE_MAXIMA):
            return kind.has_reactive  # Q and S maxima integrate R+, E+ and E-
        return True

    def value(self, name: str) -> Data | None:
        entry = self._reads.get(name)
        return None if entry is None else entry[1]()

    def write(self, name: str, value: Data) -> DataAccessResult:
        write = self._writes.get(name)
        entry = self._reads.get(name)
        if write is None or entry is None:
            return DataAccessResult.READ_WRITE_DENIED
        if value.type != entry[0] or not isinstance(value.value, int):
            return DataAccessResult.TYPE_UNMATCHED
        try:
            return write(int(value.value))
        except BreakerRefused:
            return DataAccessResult.TEMPORARY_FAILURE
        except ValueError:
            return REFUSED

    def scaler(self, name: str) -> int:
        return scaler_of(self.meter, name)

    def status(self, name: str) -> Data | None:
        return Data(DataType.UNSIGNED, 0)

    def capture_time(self, name: str) -> CosemDateTime | None:
        if name in PEAKS:
            peak = self.meter.peaks.maxima.get(PEAKS[name])
            return NOT_SPECIFIED if peak is None else date_time(peak.local, dst=peak.dst)
        return NOT_SPECIFIED  # the model does not keep when the last top-up was made

    def clock(self) -> CosemDateTime:
        meter = self.meter
        return date_time(meter.local(), dst=meter.dst(), invalid=meter.clock.invalid)

    def set_clock(self, value: CosemDateTime) -> DataAccessResult:
        fields = (value.month, value.day, value.hour, value.minute, value.second)
        if value.year == 0xFFFF or any(f == 0xFF for f in fields):
            return REFUSED
        try:
            local = datetime(
                value.year, value.month, value.day, value.hour, value.minute, value.second
            )
            if self._summer_time(local) and not value.dst:
                return REFUSED  # [DLMS] §3: inside the DST window bit 7 must be set
            self.meter.set_time(local, dst=value.dst)
        except ValueError:
            return REFUSED
        return OK

    def _summer_time(self, local: datetime) -> bool:
        """Whether the meter's own table puts *local* in summer time for sure (False in the
        repeated autumn hour, where the DST bit is what tells the two apart)."""
        now = self.meter.now_us
        outcomes = set()
        for dst in (True, False):
            probe = dataclasses.replace(self.meter.clock)  # never touch the meter's own clock
            probe.set_local(now, local, dst=dst)  # ValueError: a time the clock skips
            outcomes.add(probe.is_dst(probe.rtc_us(now)))
        return outcomes == {True}

    def shift_clock(self, seconds: int) -> ActionResult:
        if not -SHIFT_LIMIT_S <= seconds <= SHIFT_LIMIT_S:
            return ActionResult.OTHER_REASON
        self.meter.shift_time(seconds)
        return ActionResult.SUCCESS

    def capture_objects(self, name: str) -> Sequence[CaptureObject]:
        if name == "load_profile":
            return load_profile_columns(self.meter)
        return LOGS[name].columns(self.meter)

    def profile_rows(self, name: str) -> Sequence[Row]:
        if name == "load_profile":
            return self._load_profile()
        return LOGS[name].rows(self.meter)

    def profile_entries(self, name: str) -> int:
        if name == "load_profile":
            return self.meter.load_profile.depth
        return LOGS[name].capacity(self.meter)

    def capture_period(self, name: str) -> int:
        if name == "load_profile":
            return self.meter.config.integration_period_min * 60
        return LOGS[name].period_s(self.meter)

    def set_capture_period(self, name: str, seconds: int) -> DataAccessResult:
        return OK if seconds == self.capture_period(name) else REFUSED

    def standard_offset_min(self) -> int:
        return self.meter.config.gmt_offset_h * 60

    # --- reading ------------------------------------------------------------------------------

    def _load_profile(self) -> list[Row]:
        """The rows, rebuilt only when the logger changed (a GET reads them several times)."""
        entries = self.meter.load_profile.entries
        key = (len(entries), entries[-1] if entries else None, self.meter.config.energy_scaler)
        if key != self._profile_key:
            self._profile_rows = load_profile_rows(self.meter)
            self._profile_key = key
        return self._profile_rows


def display_lists_for(meter: Meter) -> tuple[DisplayList, ...]:
    """The three display lists over the model (remote display configuration)."""

    def bind(name: str) -> DisplayList:
        def codes() -> tuple[str, ...]:
            return tuple(getattr(meter.display.config, name))

        def configure(new: tuple[str, ...]) -> None:
            meter.configure_display(name, new)

        return DisplayList(name, codes, configure)

    return tuple(bind(name) for name in DISPLAY_LISTS)


def image_transfer_for(meter: Meter) -> ImageTransfer:
    """Class 18 over the model: an image verifies as :mod:`..model.firmware` says, and
    activating it changes the meter's software revision."""

    def verify(image: bytes) -> str | None:
        try:
            return verify_image(image)
        except ImageInvalid:
            return None

    def activate(image: bytes) -> None:
        meter.activate_firmware(verify_image(image))

    return ImageTransfer(verify, activate, image_signature)


def dlms_server_for(
    meter: Meter,
    *,
    password: bytes = b"12345",
    physical_address: int = 32,
    ccc_available: Callable[[], bool] = lambda: True,
    firmware_f1: bool = False,
    parameters: LinkParameters | None = None,
    inactivity_timeout: float = 20.0,
    inter_frame_timeout: float = 0.5,
    challenge: Callable[[], bytes] = lambda: secrets.token_bytes(16),
    invocation_counter: Callable[[], int] | None = None,
) -> DlmsServer:
    """The DLMS/COSEM server of *meter*: the OMNIPOWER objects over :class:`ModelProvider`,
    the four associations of [DLMS] §2.4 (LLS with *password*), HDLC at
    *physical_address*. Wrap it in :class:`~meter_emulator.ports.optical_mux.DlmsServerEndpoint`
    for the optical mux. *ccc_available* says when the CCC association may be used (push off).

    With local interface encryption (Z28 = 1, keys in ``[optical]``) the authenticated
    associations take HLS-GMAC: *challenge* draws the meter's StoC (random by default: the
    one impure default, a port's concern) and *invocation_counter* its counters (the model's
    persisted one, shared with the push, by default).
    """
    hls = None
    security = meter.config.optical
    if security is not None:  # Z28 = 1: HLS-GMAC instead of LLS
        hls = HlsGmacServer(
            Keys(security.encryption_key, security.authentication_key),
            meter.identity.system_title,
            challenge,
            meter.next_invocation_counter if invocation_counter is None else invocation_counter,
        )
    associations = omnipower_associations(
        password=password, ccc_available=ccc_available, firmware_f1=firmware_f1, hls=hls
    )
    registry = build_omnipower_registry(
        ModelProvider(meter),
        associations,
        image_transfer=image_transfer_for(meter),
        display_lists=display_lists_for(meter),
    )
    return DlmsServer(
        registry,
        associations,
        physical_address=physical_address,
        parameters=parameters,
        inactivity_timeout=inactivity_timeout,
        inter_frame_timeout=inter_frame_timeout,
    )
