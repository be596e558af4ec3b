"""How long a client waits for the greeting: connect, read the 220, QUIT, again.

Usage: python3 greeting_latency.py PORT [CONNECTIONS]

One connection at a time, so each greeting waits for whatever the server does before
it can speak: for postie, accepting, starting the client's thread, and that thread's
first turn on a CPU. Prints the median and the 90th percentile.
"""

import socket
import sys
import time


def main():
    port = int(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    waits = []
    for _ in range(count):
        start = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            replies = sock.makefile("rb")
            if not replies.readline().startswith(b"220"):
                sys.exit("no 220 greeting")
            waits.append(time.perf_counter() - start)
            sock.sendall(b"QUIT\r\n")
            replies.readline()
    waits.sort()
    median, p90 = waits[count // 2], waits[int(count * 0.9)]
    print(f"127.0.0.1:{port}: connect to 220 median {median * 1e6:.0f} us, 90th percentile {p90 * 1e6:.0f} us")


if __name__ == "__main__":
    main()
