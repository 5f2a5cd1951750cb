#!/usr/bin/env python3
"""Slow clients for `make soak` (scripts/soak.sh): connections that hold a
slot without finishing a request, to exercise medqa's connection timeout
and its head and body deadlines.

  slow_clients.py HOST PORT SECONDS STALLERS TRICKLERS TRICKLE_S [BODIES]

Stallers send half a request line and then nothing: medqa must close them
after CONNECTION_TIMEOUT. Tricklers send one header byte every TRICKLE_S
seconds (slower than a person, faster than the timeout): HEADER_TIMEOUT
must end them. Body tricklers (BODIES, default 0) send a whole POST head
announcing a 4 KiB body, then one body byte every TRICKLE_S seconds:
BODY_TIMEOUT must end them. When the server
closes a connection, its client opens another at once. On exit it prints
one line per kind: "slow KIND opened N closed_by_server N answered N
held_min_s X held_max_s X open_at_end N longest_open_s X" (answered: the
server sent a response first, such as 408 or 431; held: how long the
connections medqa closed had been open; open_at_end: connections medqa
never closed)."""
import asyncio
import sys
import time


class Stats:
    def __init__(self):
        self.opened = 0
        self.closed = 0
        self.answered = 0
        self.held = []
        self.open_at_end = 0
        self.longest_open = 0.0


async def one(kind, host, port, end, trickle_s, st):
    while time.monotonic() < end:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(1)
            continue
        st.opened += 1
        t0 = time.monotonic()
        got = b""
        try:
            if kind == "body":
                writer.write(b"POST /questions HTTP/1.1\r\nHost: x\r\n"
                             b"Content-Type: application/json\r\n"
                             b"Content-Length: 4096\r\n\r\n")
            else:
                writer.write(b"GET /questions?limit=1 HT")
            await writer.drain()
            n = 0
            while time.monotonic() < end:
                wait = end - time.monotonic() if kind == "stall" else trickle_s
                try:
                    got = await asyncio.wait_for(reader.read(4096), timeout=max(wait, 0.01))
                    break  # data or EOF: the server is done with us
                except asyncio.TimeoutError:
                    pass
                if kind == "trickle":
                    # "TP/1.1\r\nHost: x\r\nX-Slow: aaaa…" one byte at a time.
                    head = b"TP/1.1\r\nHost: x\r\nX-Slow: "
                    writer.write(head[n:n + 1] if n < len(head) else b"a")
                    n += 1
                    await writer.drain()
                elif kind == "body":
                    writer.write(b"a")
                    await writer.drain()
        except OSError:
            pass
        if time.monotonic() >= end:
            # Still held when the run ended: medqa never closed it.
            st.open_at_end += 1
            st.longest_open = max(st.longest_open, time.monotonic() - t0)
        else:
            st.closed += 1
            st.held.append(time.monotonic() - t0)
            if got.startswith(b"HTTP/"):
                st.answered += 1
        writer.close()


async def main():
    host, port, secs, stallers, tricklers, trickle_s = sys.argv[1:7]
    bodies = int(sys.argv[7]) if len(sys.argv) > 7 else 0
    end = time.monotonic() + float(secs)
    stats = {"stall": Stats(), "trickle": Stats()}
    if bodies > 0:
        stats["body"] = Stats()
    tasks = [one("stall", host, int(port), end, 0, stats["stall"]) for _ in range(int(stallers))]
    tasks += [one("trickle", host, int(port), end, float(trickle_s), stats["trickle"])
              for _ in range(int(tricklers))]
    tasks += [one("body", host, int(port), end, float(trickle_s), stats["body"])
              for _ in range(bodies)]
    await asyncio.gather(*tasks)
    for kind, st in stats.items():
        held = st.held or [0]
        print(f"slow {kind} opened {st.opened} closed_by_server {st.closed} "
              f"answered {st.answered} held_min_s {min(held):.1f} held_max_s {max(held):.1f} "
              f"open_at_end {st.open_at_end} longest_open_s {st.longest_open:.0f}",
              flush=True)


asyncio.run(main())
