"""Stand-in for a TTS API server that loads and unloads models on demand (stdlib HTTP + torch).

GET /load?name=N&mb=M   build a model of about M MiB of weights and keep it under name N
GET /unload?name=N      drop it (torch frees the weights; memshim returns the memory)
GET /synthesize?name=N  run the model once
Nothing here knows about memshim: LD_PRELOAD in the Dockerfile does the work. It listens on $HOST
(0.0.0.0) port $PORT (8000) and stops cleanly on SIGTERM, as a server in a container should: as PID 1 it would otherwise
ignore `docker stop`'s SIGTERM and be killed (SIGKILL), skipping every at-exit handler.
"""
import gc
import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import torch

models = {}


def build(mb):
    width = 1024
    layers = max(1, mb * 1024 * 1024 // (width * width * 4))
    return torch.nn.Sequential(*[torch.nn.Linear(width, width) for _ in range(layers)]).eval()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        name = q.get("name", "default")
        if url.path == "/load":
            models[name] = build(int(q.get("mb", "256")))
        elif url.path == "/unload":
            models.pop(name, None)
            gc.collect()
        elif url.path == "/synthesize" and name in models:
            with torch.no_grad():
                models[name](torch.randn(16, 1024))
        else:
            self.send_error(404)
            return
        body = json.dumps({"loaded": sorted(models)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    server = ThreadingHTTPServer((os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "8000"))), Handler)
    # shutdown() waits for serve_forever() to return, so it runs on another thread.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    server.server_close()
