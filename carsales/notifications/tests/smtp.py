"""An SMTP server test double on loopback, served by threads of the test process.

`silent=True`: it accepts connections and never says a word, like a hung mail server, so a
client waits for the greeting until its own timeout. Otherwise it speaks just enough SMTP for
Django's smtp backend, holds its answer to each message's data for `delay` seconds (a slow
server, so two senders can overlap) and keeps every message it accepted in `messages`. With
`messages_per_connection`, it refuses the sender of one more message with 421 and hangs up, as
relays that cap a connection do.
"""

import contextlib
import io
import socket
import threading
import time
from email import message_from_bytes
from email.message import Message
from types import TracebackType

LINE_LIMIT = 1000  # lines per message: the double is for small test emails


class SMTPDouble:
    def __init__(self, *, silent: bool = False, delay: float = 0.0, messages_per_connection: int | None = None) -> None:
        self.silent = silent
        self.delay = delay
        self.messages_per_connection = messages_per_connection
        self.messages: list[Message] = []
        self.received_at: dict[str, float] = {}  # Message-ID -> when its first copy was taken
        self.connections: list[socket.socket] = []
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # so the accept loop sees the stop promptly
        self.host, self.port = self._listener.getsockname()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def __enter__(self) -> "SMTPDouble":
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def env(self, *, timeout: float) -> dict[str, str]:
        """The environment that points a worker's smtp backend (base.py's EMAIL_*) at this server."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": str(self.port),
            "EMAIL_TIMEOUT": str(timeout),
        }

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()
        for connection in self.connections:
            with contextlib.suppress(OSError):  # the client hung up first
                connection.shutdown(socket.SHUT_RDWR)  # ends a conversation blocked reading a kept connection
            connection.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # the listener was closed by stop()
                return
            self.connections.append(connection)
            if not self.silent:
                thread = threading.Thread(target=self._converse, args=(connection,), daemon=True)
                self._threads.append(thread)
                thread.start()

    def _converse(self, connection: socket.socket) -> None:
        try:
            stream = connection.makefile("rwb")
            stream.write(b"220 double ESMTP\r\n")
            stream.flush()
            accepted = 0
            while line := stream.readline():
                verb = line[:4].upper()
                if verb == b"MAIL" and accepted == self.messages_per_connection:
                    stream.write(b"421 4.7.0 too many messages on this connection\r\n")
                    stream.flush()
                    connection.shutdown(socket.SHUT_RDWR)
                    return
                if verb == b"QUIT":
                    stream.write(b"221 bye\r\n")
                    stream.flush()
                    return
                if verb == b"DATA":
                    stream.write(b"354 go on\r\n")
                    stream.flush()
                    if not self._receive(stream):
                        return  # the client hung up mid-message (a worker killed): nothing was accepted
                    accepted += 1
                    self._stopping.wait(self.delay)
                    reply = b"250 queued\r\n"
                elif verb in (b"EHLO", b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    reply = b"250 ok\r\n"
                else:
                    reply = b"502 not implemented\r\n"
                stream.write(reply)
                stream.flush()
        except OSError:  # the client hung up, or stop() closed the socket
            return

    def _receive(self, stream: io.BufferedIOBase) -> bool:
        """Take one message's data; False, keeping nothing, when the client hangs up before its end."""
        lines = []
        for _ in range(LINE_LIMIT):
            line = stream.readline()
            if line == b"":
                return False
            if line == b".\r\n":
                break
            lines.append(line[1:] if line.startswith(b"..") else line)  # undo dot-stuffing
        message = message_from_bytes(b"".join(lines))
        self.messages.append(message)
        self.received_at.setdefault(message["Message-ID"], time.time())
        return True
