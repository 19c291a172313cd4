"""Cost of the service's metrics and health hooks per batch. Prints figures; asserts nothing.

Routes batches of the demo's records once (MemoryPipe-free: the router alone), then times
`ServiceProbe.committed` (counters by topic/subject/outcome, reasons, three histograms, one
end-to-end observation per record) against routing the same batch.

Usage: python benchmarks/service_metrics.py [--batch B] [--rounds N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from guard.config.settings import GuardSettings
from guard.contracts import load_registry
from guard.demo.samples import sample_stream
from guard.service.health import Health
from guard.service.metrics import ServiceMetrics
from guard.service.probe import ServiceProbe
from guard.service.runner import build_router, build_validators
from guard.transport.base import InRecord

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    settings = GuardSettings(topics={"orders": {"subject": "orders"}})  # type: ignore[dict-item]
    router = build_router(settings, build_validators(settings, load_registry(SCHEMAS)))
    now_ms = int(time.time() * 1000)
    batch = [
        InRecord("orders", i % 3, i, now_ms - 50, s.key, s.value, list(s.headers))
        for i, s in enumerate(sample_stream(args.batch, bad_share=0.2, seed=1))
    ]
    routed = router.route(batch)
    probe = ServiceProbe(ServiceMetrics(), Health(120, 60), {"orders": "orders"}, 10, 0)

    started = time.perf_counter()
    for _ in range(args.rounds):
        router.route(batch)
    route_s = (time.perf_counter() - started) / args.rounds

    started = time.perf_counter()
    for _ in range(args.rounds):
        probe.committed(routed, 0.01, 0.005)
    hook_s = (time.perf_counter() - started) / args.rounds

    print(f"batch of {args.batch} records ({routed.stats.quarantined} quarantined)")
    print(f"  routing (validate + build records): {route_s * 1e3:8.3f} ms per batch")
    print(f"  metrics + health hook:              {hook_s * 1e3:8.3f} ms per batch")
    print(f"  hook / routing:                     {hook_s / route_s:8.1%}")
    print(f"  hook per record:                    {hook_s / args.batch * 1e6:8.2f} us")


if __name__ == "__main__":
    main()
