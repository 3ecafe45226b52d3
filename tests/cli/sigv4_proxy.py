#!/usr/bin/env python3
"""A signature-checking proxy in front of an S3-compatible server for the tests: each request's
AWS Signature Version 4 is recomputed with botocore's S3 signer (an implementation independent of
the project's) from the request as it arrived and the secret key this proxy knows; a request whose
signature does not match is answered 403 SignatureDoesNotMatch, as AWS answers it; the others are
forwarded unchanged (to moto, which checks them again against its own IAM keys).

usage: sigv4_proxy.py UPSTREAM_URL ACCESS_KEY SECRET_KEY PORT_FILE [LOG_FILE]
"""
import http.client
import http.server
import re
import sys
import urllib.parse

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

UPSTREAM, ACCESS_KEY, SECRET_KEY, PORT_FILE = sys.argv[1:5]
LOG = open(sys.argv[5], "a", buffering=1) if len(sys.argv) > 5 else None
AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request,\s*"
                  r"SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$")


def expected_signature(method, path, headers, region, signed_headers):
    token = headers.get("x-amz-security-token")
    request = AWSRequest(method=method, url="http://" + headers["host"] + path,
                         headers={name: headers[name] for name in signed_headers if name in headers})
    request.context["timestamp"] = headers["x-amz-date"]
    signer = S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, token), "s3", region)
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def refuse(self, code, message):
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message>"
                "</Error>").encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v.strip() for k, v in self.headers.items()}
        m = AUTH.match(headers.get("authorization", ""))
        if not m:
            return self.refuse("AccessDenied", "no SigV4 Authorization header")
        key, _, region, signed, signature = m.groups()
        signed_headers = signed.split(";")
        missing = [h for h in ("host", "x-amz-date", "x-amz-content-sha256") if h not in signed_headers]
        if key != ACCESS_KEY or missing:
            return self.refuse("AccessDenied", f"unknown key or unsigned {missing}")
        want = expected_signature(self.command, self.path, headers, region, signed_headers)
        if LOG:
            LOG.write(f"{self.command} {urllib.parse.urlsplit(self.path).path} {'ok' if want == signature else 'MISMATCH'}\n")
        if want != signature:
            return self.refuse("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
        upstream = urllib.parse.urlsplit(UPSTREAM)
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        conn.request(self.command, self.path, body=body, headers={k: v for k, v in self.headers.items()})
        answer = conn.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for k, v in answer.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
