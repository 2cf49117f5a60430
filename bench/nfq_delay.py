"""Delay every queued packet by a fixed time: the bench's stand-in for ``tc qdisc netem delay``.

This kernel has no netem (``CONFIG_NET_SCH_NETEM`` is not set) but has NFQUEUE: an nftables
rule in the bench's network namespace queues every TCP packet sent on its loopback to queue 0,
and this process gives each its verdict ``delay`` seconds after it arrived. One hop per packet
(output), so the round-trip time is twice the delay. Verdicts go out in arrival order (the
delay is the same for all), from one thread: a select loop on the queue's netlink socket.

    ip netns exec NS python bench/nfq_delay.py 0.025

Needs ``pip install netfilterqueue`` (and Debian's libnetfilter-queue-dev to build it).
"""

from __future__ import annotations

import collections
import select
import socket
import sys
import time

from netfilterqueue import NetfilterQueue, Packet


def main() -> int:
    delay = float(sys.argv[1])
    pending: collections.deque[tuple[float, Packet]] = collections.deque()

    def queued(packet: Packet) -> None:
        pending.append((time.monotonic() + delay, packet))

    queue = NetfilterQueue()
    queue.bind(0, queued, max_len=65536)
    sock = socket.fromfd(queue.get_fd(), socket.AF_NETLINK, socket.SOCK_RAW)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    print("ready", flush=True)
    try:
        while True:
            wait = max(0.0, pending[0][0] - time.monotonic()) if pending else 1.0
            if select.select([sock], [], [], wait)[0]:
                queue.run(block=False)
            now = time.monotonic()
            while pending and pending[0][0] <= now:
                pending.popleft()[1].accept()
    except KeyboardInterrupt:
        return 0
    finally:
        queue.unbind()


if __name__ == "__main__":
    sys.exit(main())
