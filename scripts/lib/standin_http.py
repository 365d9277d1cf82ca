"""What the tests' local HTTP stand-ins share: a quiet HTTP/1.1 handler with a reply helper, and a
server on 127.0.0.1 (an ephemeral port, printed on the first line of stdout) that stops by itself."""
import http.server
import socket
import threading


class QuietHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    default_content_type = "application/json"

    def setup(self):
        super().setup()
        # The headers and the body go out in two writes: with Nagle's algorithm the second waits
        # for the client's delayed ACK of the first (40 ms), which capped a keep-alive connection
        # at 25 requests a second.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type=None):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type or self.default_content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(handler, lifetime, tls=None):
    """Serves on 127.0.0.1 until `lifetime` seconds pass; over TLS when `tls` is (certfile, keyfile)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if tls:
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    timer = threading.Timer(lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    server.serve_forever()
