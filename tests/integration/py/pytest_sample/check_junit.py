"""check_junit.py JUNIT.xml NAME=OUTCOME[~TEXT]...: each test NAME has OUTCOME ("passed" or
"failed"), and when ~TEXT is given its failure message contains TEXT. Exit 1 with what differs."""
import sys
import xml.etree.ElementTree as ET


def outcomes(path):
    got = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        text = "" if bad is None else (bad.get("message", "") + "\n" + (bad.text or ""))
        got[case.get("name")] = ("failed" if bad is not None else "passed", text)
    return got


def main():
    got = outcomes(sys.argv[1])
    errors = []
    for want in sys.argv[2:]:
        name, _, rest = want.partition("=")
        outcome, _, text = rest.partition("~")
        have, message = got.get(name, ("missing", ""))
        if have != outcome:
            errors.append(f"{name}: {have}, expected {outcome}\n{message}")
        elif text and text not in message:
            errors.append(f"{name}: message lacks {text!r}:\n{message}")
    for e in errors:
        print("FAIL:", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
