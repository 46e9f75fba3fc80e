"""A minimal OpenTelemetry collector: OTLP/HTTP traces (protobuf), decoded with the
protocol's own generated messages (the `opentelemetry-proto` package).

Usage: otlp_receiver.py OUT_DIR
Listens on 127.0.0.1 (a free port), prints the port on its first stdout line, then for every
`POST /v1/traces` appends the raw body to OUT_DIR/raw.bin and one JSON line per span to
OUT_DIR/spans.jsonl: {"name", "kind", "status", "trace_id", "attributes": {key: value},
"resource": {key: value}, "scope"}. Answers an empty ExportTraceServiceResponse, as a
collector does. Anything else is a 404; a body that does not decode is a 400 (and is
recorded in OUT_DIR/errors.txt, which the test expects absent).
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

OUT = sys.argv[1]


def value(v):
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind in ("array_value", "kvlist_value", "bytes_value"):
        return str(getattr(v, kind))
    return getattr(v, kind)


def attributes(kvs):
    return {kv.key: value(kv.value) for kv in kvs}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path != "/v1/traces":
            self.send_error(404)
            return
        if self.headers.get("Content-Type") != "application/x-protobuf":
            self.fail(f"content type {self.headers.get('Content-Type')!r}")
            return
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except DecodeError as e:
            self.fail(f"decode: {e}")
            return
        with open(os.path.join(OUT, "raw.bin"), "ab") as raw:
            raw.write(body)
        lines = []
        for rs in request.resource_spans:
            resource = attributes(rs.resource.attributes)
            for ss in rs.scope_spans:
                for span in ss.spans:
                    lines.append(
                        json.dumps(
                            {
                                "name": span.name,
                                "kind": Span.SpanKind.Name(span.kind),
                                "status": Status.StatusCode.Name(span.status.code),
                                "trace_id": span.trace_id.hex(),
                                "attributes": attributes(span.attributes),
                                "resource": resource,
                                "scope": ss.scope.name,
                            }
                        )
                    )
        with open(os.path.join(OUT, "spans.jsonl"), "a") as out:
            out.writelines(line + "\n" for line in lines)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def fail(self, why):
        with open(os.path.join(OUT, "errors.txt"), "a") as errors:
            errors.write(why + "\n")
        self.send_error(400)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
