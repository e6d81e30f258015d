#!/usr/bin/env python3
"""Renders chat templates exactly as Hugging Face transformers does.

Reference side of Mote's chat-template conformance test
(rust/core/tests/template_conformance.rs). The Jinja environment below is
transformers' `_compile_jinja_template` (src/transformers/utils/chat_template_utils.py):
an ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and the
loopcontrols extension, the `{% generation %}` tag rendered as its body,
`raise_exception`, `strftime_now` in local time and a `tojson` filter that is
json.dumps without ASCII escaping. The context is the one
`apply_chat_template` builds: messages, tools, documents,
add_generation_prompt and the special tokens.

Usage: render_templates.py CASES.json TEMPLATE_DIR OUT.json
  CASES.json   {"cases": [{"name", "messages", "tools"?, "add_generation_prompt",
                "needs_tools"?}], "special_tokens": [{"match", "bos_token", "eos_token"}]}
  TEMPLATE_DIR *.jinja files, one per template
  OUT.json     [{"template", "case", "add_generation_prompt", "bos_token", "eos_token",
                "messages_json", "tools_json", "expected"?, "error"?}]
"""
import json
import sys
from datetime import datetime
from pathlib import Path

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment


class AssistantTracker(Extension):
    # transformers' extension, minus the assistant-mask bookkeeping (it only
    # matters with return_assistant_tokens_mask): the body renders as is.
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return datetime.now().strftime(format)


def compile_template(source):
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(source)


def special_tokens(spec, template_name):
    for entry in spec:
        if entry["match"] == "*" or entry["match"].lower() in template_name.lower():
            return {"bos_token": entry["bos_token"], "eos_token": entry["eos_token"]}
    raise SystemExit(f"no special tokens for {template_name}")


def main():
    cases_path, template_dir, out_path = sys.argv[1:4]
    spec = json.loads(Path(cases_path).read_text(encoding="utf-8"))
    results = []
    for path in sorted(Path(template_dir).glob("*.jinja")):
        name = path.stem
        source = path.read_text(encoding="utf-8")
        try:
            compiled = compile_template(source)
            compile_error = None
        except Exception as e:  # a template jinja2 cannot parse
            compiled, compile_error = None, f"{type(e).__name__}: {e}"
        for case in spec["cases"]:
            tokens = special_tokens(spec["special_tokens"], name)
            context = {
                "messages": case["messages"],
                "tools": case.get("tools"),
                "documents": None,
                "add_generation_prompt": case["add_generation_prompt"],
                **tokens,
            }
            # Messages and tools travel as JSON text so that key order survives.
            entry = {
                "template": name,
                "case": case["name"],
                "add_generation_prompt": case["add_generation_prompt"],
                **tokens,
                "messages_json": json.dumps(case["messages"], ensure_ascii=False),
                "tools_json": None if case.get("tools") is None else json.dumps(case["tools"], ensure_ascii=False),
            }
            if compile_error is not None:
                entry["error"] = compile_error
            else:
                try:
                    entry["expected"] = compiled.render(**context)
                except Exception as e:
                    entry["error"] = f"{type(e).__name__}: {e}"
            results.append(entry)
    Path(out_path).write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"rendered {len(results)} (template, case) pairs with jinja2 {jinja2.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
