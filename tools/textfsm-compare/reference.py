"""Python TextFSM's answers for the engine comparison (tools/textfsm-compare).

Prints one JSON object: {template file name: {"error": str|None, "results": {sample name:
records|{"error": str}}}}. Records are lists of dicts with lower-case keys, as netmiko returns
them. A sample file is named `<platform>__<n>`: every template of that platform (ntc-templates
names files `<platform>_<command>.textfsm`) parses it, so that templates with no sample of their
own still show whether the engines agree on text they were not written for.
"""
import io
import json
import signal
import os
import sys

import textfsm


class Hang(Exception):
    pass


def _hang(*_):
    raise Hang()


def main():
    signal.signal(signal.SIGALRM, _hang)
    templates, samples = sys.argv[1], sys.argv[2]
    texts = {}
    for name in sorted(os.listdir(samples)):
        with open(os.path.join(samples, name), encoding="utf-8") as f:
            texts[name] = f.read()
    out = {}
    for name in sorted(os.listdir(templates)):
        if not name.endswith(".textfsm"):
            continue
        entry = {"error": None, "results": {}}
        try:
            with open(os.path.join(templates, name), encoding="utf-8") as f:
                source = f.read()
            textfsm.TextFSM(io.StringIO(source))
        except Exception as e:  # a template Python rejects is recorded, not fatal
            entry["error"] = f"{type(e).__name__}: {e}"
            out[name] = entry
            continue
        fsm = textfsm.TextFSM(io.StringIO(source))
        for sname, text in texts.items():
            if not name.startswith(sname.split("__")[0] + "_"):
                continue
            fsm.Reset()
            # A few templates never finish on text they were not written for (a rule that
            # matches without consuming the line, in a loop): such a pair is marked and the
            # Rust engines are not run on it.
            signal.alarm(2)
            try:
                recs = fsm.ParseTextToDicts(text)
                entry["results"][sname] = [{k.lower(): v for k, v in r.items()} for r in recs]
            except Hang:
                entry["results"][sname] = {"hang": True}
            except Exception as e:
                entry["results"][sname] = {"error": f"{type(e).__name__}: {e}"}
            finally:
                signal.alarm(0)
        out[name] = entry
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
