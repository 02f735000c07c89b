"""Serve a GGUF model with llama.cpp's own OpenAI-compatible server (the xllamacpp wheel), in a
child process of the tests: `python llama_server.py MODEL PORT`. A test fixture, never a product
dependency; the model and the wheel are installed by scripts/test-deps.sh into .llm-fixture/."""

from __future__ import annotations

import sys
import time

import xllamacpp  # type: ignore[import-not-found]


def main() -> None:
    model, port = sys.argv[1], int(sys.argv[2])
    params = xllamacpp.CommonParams()
    params.model.path = model
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = 4096
    params.n_parallel = 1
    params.use_jinja = True
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    server = xllamacpp.Server(params)  # returns once the model is loaded; serves from a thread
    print("serving", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        del server


if __name__ == "__main__":
    main()
