"""`ml-connector credentials set|list|remove|key`: the encrypted credential store from the command line.

A value is read from standard input (piped) or a hidden prompt, never from the command line, so it
never lands in shell history or the process list; nothing here prints a value.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from state.credentials import CredentialError, CredentialStore, new_key, save_key_to_keyring


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `credentials` and its sub-commands on the top-level parser."""
    creds = sub.add_parser("credentials", help="keep secrets in the encrypted credential store")
    cmds = creds.add_subparsers(dest="credentials_command", required=True)
    put = cmds.add_parser("set", help="store a secret (value from standard input or a hidden prompt)")
    put.add_argument("name", help="the setting's variable name, e.g. TALLY_PASSWORD")
    put.set_defaults(func=cmd_set)
    cmds.add_parser("list", help="list stored names (values are never shown)").set_defaults(func=cmd_list)
    remove = cmds.add_parser("remove", help="forget a stored secret")
    remove.add_argument("name")
    remove.set_defaults(func=cmd_remove)
    key = cmds.add_parser("key", help="print a new store key to put in ML_CONNECTOR_CREDENTIALS_KEY")
    key.add_argument("--keyring", action="store_true", help="keep the new key in the OS keyring instead of printing it")
    key.set_defaults(func=cmd_key)


def _read_value(name: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(f"{name} (input hidden): ")
    return sys.stdin.readline().rstrip("\r\n")


def cmd_set(args: argparse.Namespace) -> int:
    try:
        store = CredentialStore.open()
        value = _read_value(args.name)
        if not value:
            print(f"nothing stored: {args.name} was empty", file=sys.stderr)
            return 1
        store.set(args.name, value)
    except CredentialError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"stored {args.name} in {store.path}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    try:
        store = CredentialStore.open()
        names = store.names()
    except CredentialError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name in names:
        print(f"{name}  ********")
    if not names:
        print(f"no credentials stored in {store.path}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    try:
        store = CredentialStore.open()
        removed = store.remove(args.name)
    except CredentialError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"removed {args.name}" if removed else f"{args.name} was not stored")
    return 0 if removed else 1


def cmd_key(args: argparse.Namespace) -> int:
    key = new_key()
    if args.keyring:
        if not save_key_to_keyring(key):
            print("error: no usable OS keyring (install `keyring` with a backend, or use the environment)",
                  file=sys.stderr)
            return 1
        print("a new key is in the OS keyring (service ml-connector); a store written with an older key "
              "cannot be read with it")
        return 0
    print(key)
    print("put it in the environment as ML_CONNECTOR_CREDENTIALS_KEY (keep it out of the state folder)",
          file=sys.stderr)
    return 0
