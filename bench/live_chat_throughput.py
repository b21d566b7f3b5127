"""Messages per second through the live-chat handlers on this machine (moto + the local fake Talkdesk).

    python bench/live_chat_throughput.py [--conversations 48] [--threads 8] [--turns 4] [--throttle-every 0]

Each conversation: the escalation, an agent message before the customer connects, `turns` exchanges
of one customer and one agent message, a last customer frame. Counts every message that crossed the
handlers (customer -> Talkdesk, agent -> customer) and checks each arrived exactly once, in order.
Prints: conversations=… messages=… seconds=… msgs_per_s=…
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.components.live_chat.chat_support import (  # noqa: E402
    FlakyPushes,
    chat_environment,
    frames,
    run_conversation,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=48)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--throttle-every", type=int, default=0, help="throttle every N-th frame's first push")
    args = parser.parse_args(argv)
    with chat_environment() as chat:
        pushes = FlakyPushes(every=args.throttle_every)
        for module in ("callback", "websocket"):
            chat[module].management_client = lambda *a: pushes
        run_conversation(chat, -1, args.turns)  # warm-up: imports, token, first table calls
        started = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            results = list(pool.map(lambda i: run_conversation(chat, i, args.turns), range(args.conversations)))
        seconds = time.perf_counter() - started
        messages = 0
        for conversation, connection, agent, customer in results:
            delivered = [f["content"] for f in frames(connection)]
            to_agent = [text for conv, text in chat["fake"].messages if conv == conversation]
            if delivered != agent or to_agent != customer:
                print(f"lost, doubled or out of order in {conversation}", file=sys.stderr)
                return 1
            messages += len(agent) + len(customer)
    print(f"conversations={args.conversations} threads={args.threads} messages={messages} "
          f"seconds={seconds:.2f} msgs_per_s={messages / seconds:.1f} throttled={pushes.throttled}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
