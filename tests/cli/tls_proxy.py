#!/usr/bin/env python3
"""A TLS front for the tests' plain-HTTP mock servers, as an HTTPS tracking server (or a TLS-terminating
load balancer before one) answers: it accepts TLS connections with the certificate and key given,
and forwards the bytes of each to the mock server's port and back, unchanged. A client that does not
trust the certificate fails its handshake here, before any request reaches the mock server. With
CLIENT_CA, clients must present a certificate that CLIENT_CA signed (mutual TLS).

usage: tls_proxy.py CERT_PEM KEY_PEM UPSTREAM_PORT PORT_FILE [CLIENT_CA]
"""
import os
import socket
import ssl
import sys
import threading
import time

CERT, KEY, UPSTREAM_PORT, PORT_FILE = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
CLIENT_CA = sys.argv[5] if len(sys.argv) > 5 else None


def pump(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(raw, context):
    # The handshake by hand: wrap_socket's own closes the socket at once when it fails.
    client = context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
    try:
        client.do_handshake()
    except (ssl.SSLError, OSError):  # the client refused the certificate, or went away
        # A moment before closing, so that the client reads the TLS alert sent (a client certificate
        # missing or refused) before its next write meets a closed socket.
        time.sleep(1)
        client.close()
        return
    try:
        upstream = socket.create_connection(("127.0.0.1", UPSTREAM_PORT))
    except OSError:  # the mock server is down: so is this front
        client.close()
        return
    threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
    pump(client, upstream)


def main():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CERT, KEY)
    if CLIENT_CA:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(CLIENT_CA)
    listener = socket.create_server(("127.0.0.1", 0))
    with open(PORT_FILE + ".tmp", "w") as f:
        f.write(str(listener.getsockname()[1]))
    os.replace(PORT_FILE + ".tmp", PORT_FILE)
    while True:
        raw, _ = listener.accept()
        threading.Thread(target=serve, args=(raw, context), daemon=True).start()


if __name__ == "__main__":
    main()
