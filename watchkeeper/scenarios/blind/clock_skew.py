from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario
from watchkeeper.scenarios.world import World

TRACKING = """Reference ID    : 00000000 ()
Stratum         : 0
Ref time (UTC)  : {ref}
System time     : 312.418772 seconds fast of NTP time
Last offset     : +0.000000000 seconds
RMS offset      : 0.000000000 seconds
Frequency       : 0.000 ppm slow
Residual freq   : +0.000 ppm
Skew            : 0.000 ppm
Root delay      : 1.000000000 seconds
Root dispersion : 1.000000000 seconds
Update interval : 0.0 seconds
Leap status     : Not synchronised
"""


class ClockSkew(BlindScenario):
    name = "blind_clock_skew"
    description = "Simulated: the clock runs 5 min fast (chrony unsynchronised); the auth API rejects every token."
    fault_class = "time"
    simulated = True  # the host clock is never touched: only the evidence (chrony's status, the app's log)

    def setup(self, world: World) -> None:
        now = datetime.now(UTC)
        world.backfill("auth_api", [f"INFO POST /login 200 user={i}" for i in range(60)])
        world.backfill(
            "chrony",
            [
                "chronyd version 4.5 starting (+CMDMON +NTP +REFCLOCK +RTC +PRIVDROP +SCFILTER)",
                "Selected source 10.0.0.53 (ntp.corp.internal)",
                "Can't synchronise: no selectable sources",
                "Source 10.0.0.53 offline",
            ],
        )
        (world.log_root / "chrony" / "tracking.log").write_text(TRACKING.format(ref=now - timedelta(hours=30)))
        with world.log_path("auth_api").open("a") as fh:  # the last minute: every login fails
            for i in range(60, 0, -2):
                stamp = (now - timedelta(seconds=i)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                fh.write(
                    f"{stamp} ERROR POST /login 401: token rejected: iat {int(time.time()) + 312 - i} is in the "
                    "future (clock skew 312s exceeds leeway 30s)\n"
                )

    def question(self, world: World) -> str | None:
        return "users can't log in, auth_api rejects every token"

    def truth(self, world: World) -> Truth:
        return Truth("time", "service", "chrony", None, "manual")
