from __future__ import annotations

import time

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.certs import InternalCa
from watchkeeper.scenarios.world import World, free_port


class CertChain(BlindScenario):
    name = "blind_cert_chain"
    description = (
        "The payment gateway's certificate was renewed and installed without its intermediate (cert.pem, not "
        "fullchain.pem): clients that trust only the company's root CA fail 'unable to get local issuer "
        "certificate', so every checkout is a 502. The tax service, on the same CA, serves its full chain "
        "(its certificate expires in 20 days, not yet a problem)."
    )
    fault_class = "certificate"

    def setup(self, world: World) -> None:
        self.pay_port, self.tax_port, self.port = free_port(), free_port(), free_port()
        ca = InternalCa(world.root / "pki")
        pay_cert, pay_key = ca.issue("paygate.internal", days=90, age_days=0.02, full_chain=False)
        tax_cert, tax_key = ca.issue("taxcalc.internal", days=20, age_days=70)
        world.backfill("paygate", [f'INFO 127.0.0.1 "POST /v1/charges HTTP/1.1" 201 {i % 9 + 40}' for i in range(90)])
        spawn(world, "tlsapi", "paygate", "--cert", str(pay_cert), "--key", str(pay_key), port=self.pay_port)
        spawn(world, "tlsapi", "taxcalc", "--cert", str(tax_cert), "--key", str(tax_key), port=self.tax_port)
        world.backfill("storefront", [f"INFO GET /checkout 200 {i % 13 + 80}ms order placed" for i in range(90)])
        self.url = f"https://127.0.0.1:{self.pay_port}/"
        tax = f"https://127.0.0.1:{self.tax_port}"
        upstreams = ("--upstream", self.url.rstrip("/"), "--upstream2", tax, "--cafile", str(ca.root_path))
        spawn(world, "storefront", "storefront", *upstreams, "--timeout", "3", port=self.port)
        url = f"http://127.0.0.1:{self.port}/checkout"
        world.spawn("load", "loadgen", "--url", url, "--concurrency", "1", log=False)
        time.sleep(3)

    def question(self, world: World) -> str | None:
        return "storefront 从几分钟前开始结账全部失败，返回502，是什么原因？"  # noqa: RUF001 (a Chinese question)

    def truth(self, world: World) -> Truth:
        return Truth("certificate", "url", self.url, None, "manual")
