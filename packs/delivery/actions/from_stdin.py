"""Secrets on stdin: the line is {"parameters": {...}, "secrets": {env var name: value}}."""
import json
import os
import sys

line = json.loads(sys.stdin.readline())
params, secrets = line["parameters"], line["secrets"]
print(f"target {params['target']}; api key present ({len(secrets['SECRET_API_KEY'])} characters)")
print(f"SECRET_ variables in the environment: {sorted(k for k in os.environ if k.startswith('SECRET_'))}")
