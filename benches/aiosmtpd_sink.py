"""aiosmtpd with a discarding handler: the asyncio peer of benches/compare.sh.

Usage: python3 aiosmtpd_sink.py PORT COUNT_FILE

Listens on 127.0.0.1:PORT and answers 250 to every message without keeping it,
like Postfix's smtp-sink. It counts the messages it accepted; on SIGUSR1 it writes
that count to COUNT_FILE, so the benchmark can check that every message arrived.
"""

import asyncio
import os
import signal
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    """Accepts and forgets every message, counting them."""

    def __init__(self):
        self.accepted = 0

    async def handle_DATA(self, server, session, envelope):
        self.accepted += 1
        return "250 2.0.0 OK"


def main():
    port, count_file = int(sys.argv[1]), sys.argv[2]
    handler = Sink()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def report():
        # Write then rename, so the reader never sees half a number.
        with open(count_file + ".tmp", "w") as out:
            out.write(f"{handler.accepted}\n")
        os.replace(count_file + ".tmp", count_file)

    loop.add_signal_handler(signal.SIGUSR1, report)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    server = loop.run_until_complete(
        loop.create_server(
            # hostname given, so aiosmtpd does not ask DNS for our name;
            # no size limit, as smtp-sink has none.
            lambda: SMTP(handler, hostname="aiosmtpd.bench", data_size_limit=None, loop=loop),
            "127.0.0.1",
            port,
            backlog=128,
        )
    )
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
