"""A Relay talking to orgsettings as Relay does, with Sentry's own Relay library (sentry-relay).

Used by tests/api/relay_registration.rs. Each command prints one JSON object on stdout.

  register BASE [--version V] [--relay-id ID] [--secret-key KEY --public-key KEY] [--token-secret S]
      the handshake: signed challenge request, then the signed answer to the token the server
      gave (or, with --token-secret, to a token the library itself minted with that secret)
  publickeys BASE RELAY_ID SECRET_KEY ID...
      a registered relay's signed request for other relays' keys
  validate SECRET BODY SIGNATURE
      the library's own server side: validate_register_response over a response this script
      signed, with the given instance secret
"""

import json
import sys
import urllib.error
import urllib.request

from sentry_relay.auth import (
    SecretKey,
    create_register_challenge,
    generate_key_pair,
    generate_relay_id,
    validate_register_response,
)


def post(base, path, body, relay_id, signature):
    request = urllib.request.Request(
        base + path,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Sentry-Relay-Id": relay_id,
            "X-Sentry-Relay-Signature": signature,
        },
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def option(args, name, default=None):
    if name in args:
        return args[args.index(name) + 1]
    return default


def register(base, args):
    version = option(args, "--version", "25.11.0")
    relay_id = option(args, "--relay-id") or str(generate_relay_id())
    secret = option(args, "--secret-key")
    if secret:
        # the same relay again: its key pair as a first registration printed it
        sk, public_key = SecretKey.parse(secret), option(args, "--public-key")
    else:
        sk, pk = generate_key_pair()
        public_key = str(pk)
    out = {"relay_id": relay_id, "public_key": public_key, "secret_key": str(sk)}
    body = json.dumps(
        {"relay_id": relay_id, "public_key": public_key, "version": version}
    ).encode()
    signature = sk.sign(body)
    status, challenge = post(base, "/api/0/relays/register/challenge/", body, relay_id, signature)
    out["challenge_status"], out["challenge"] = status, challenge
    if status != 200:
        print(json.dumps(out))
        return
    token = challenge["token"]
    token_secret = option(args, "--token-secret")
    if token_secret:
        token = create_register_challenge(body, signature, token_secret)["token"]
    answer = json.dumps({"relay_id": relay_id, "token": token, "version": version}).encode()
    answer_signature = sk.sign(answer)
    status, response = post(
        base, "/api/0/relays/register/response/", answer, relay_id, answer_signature
    )
    out["response_status"], out["response"] = status, response
    out["answer"], out["answer_signature"] = answer.decode(), answer_signature
    print(json.dumps(out))


def publickeys(base, relay_id, secret, ids):
    sk = SecretKey.parse(secret)
    body, signature = sk.pack({"relay_ids": ids})
    status, answer = post(base, "/api/0/relays/publickeys/", body, relay_id, signature)
    print(json.dumps({"status": status, "body": answer}))


def validate(secret, body, signature):
    try:
        valid = validate_register_response(body.encode(), signature, secret)
        print(json.dumps({"valid": True, "relay_id": str(valid["relay_id"]), "public_key": str(valid["public_key"]), "version": str(valid["version"])}))
    except Exception as error:  # the library's refusal, first line
        print(json.dumps({"valid": False, "error": str(error).splitlines()[0]}))


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "register":
        register(args[0], args[1:])
    elif command == "publickeys":
        publickeys(args[0], args[1], args[2], args[3:])
    elif command == "validate":
        validate(args[0], args[1], args[2])
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
