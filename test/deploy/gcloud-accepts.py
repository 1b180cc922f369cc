"""Asks the real gcloud whether it accepts command lines, without credentials or a network.

Reads one JSON array of gcloud arguments (without "gcloud") per line on stdin and writes one
JSON line per command: {"argv", "code", "stderr", "format_error"}. All commands run in this one
process through gcloud's own CLI object, so the SDK loads once instead of once a command
(about 50 ms a command instead of 1.5 s). Run it with gcloud's Python and the SDK's lib/ on
PYTHONPATH, and an empty CLOUDSDK_CONFIG: then gcloud parses and validates every flag, choice
and required argument, and a command it accepts stops at "You do not currently have an active
account selected" before calling any API.

--format values are also parsed with gcloud's resource printer, which otherwise only happens
after an API answered.
"""
import json
import os
import sys
import tempfile

from googlecloudsdk import gcloud_main
from googlecloudsdk.core.resource import resource_printer


def run(cli, argv):
  """Runs one command with fd 1 and 2 sent to a file; returns (exit code, its stderr)."""
  with tempfile.TemporaryFile(mode='w+b') as out:
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(out.fileno(), 1)
    os.dup2(out.fileno(), 2)
    code = 0
    try:
      cli.Execute(argv)
    except SystemExit as e:
      code = e.code if isinstance(e.code, int) else 1
    except BaseException as e:  # pylint: disable=broad-except
      code = 99
      sys.stderr.write('%s: %s\n' % (type(e).__name__, e))
    finally:
      sys.stdout.flush()
      sys.stderr.flush()
      os.dup2(saved[0], 1)
      os.dup2(saved[1], 2)
      os.close(saved[0])
      os.close(saved[1])
    out.seek(0)
    return code, out.read().decode('utf-8', 'replace')


def format_error(argv):
  for arg in argv:
    if arg.startswith('--format='):
      try:
        resource_printer.Printer(arg[len('--format='):])
      except Exception as e:  # pylint: disable=broad-except
        return '%s: %s' % (type(e).__name__, e)
  return None


def main():
  cli = gcloud_main.CreateCLI([])
  for line in sys.stdin:
    if not line.strip():
      continue
    argv = json.loads(line)
    code, err = run(cli, argv)
    print(json.dumps({'argv': argv, 'code': code, 'stderr': err[-2000:],
                      'format_error': format_error(argv)}), flush=True)


if __name__ == '__main__':
  main()
