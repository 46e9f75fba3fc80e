#!/usr/bin/env python3
"""Writes tests/golden/katana/badsecrets.json: vectors from an implementation nobody here wrote.

Needs the PyPI package `badsecrets` (pip install badsecrets; it brings pycryptodome):
- SP800-108 derivations by badsecrets' own `sp800_108_derivekey` for the OAuth access-token
  purposes and every master-key size Gatehouse accepts;
- three real .NET 4.5 `NetFXCryptoService.Protect` outputs (WebResource/ScriptResource tokens
  captured by badsecrets' authors from an ASP.NET app, validation SHA1, AES-256), with the
  plaintext badsecrets' own derivation and AES decrypt give.
Run: python3 scripts/katana_badsecrets.py > tests/golden/katana/badsecrets.json
"""
import base64, binascii, hashlib, hmac, json, sys

from badsecrets.helpers import sp800_108_derivekey, sp800_108_get_key_derivation_parameters
from Crypto.Cipher import AES

PRIMARY = "User.MachineKey.Protect"
PURPOSES = ["Microsoft.Owin.Security.OAuth", "Access_Token", "v1"]

kdf = []
# Up to 64 bytes only: for longer keys badsecrets 1.3.0's loop writes every HMAC block at
# offset 0 (`res = hash[:cnt] + res[cnt:]`), so its 128-byte output is block 2 then zeros;
# Microsoft's SP800_108.cs (run on Mono by the Katana harness) appends, as Gatehouse does.
for n in (16, 20, 24, 32, 48, 64):
    key = bytes((i * 7 + n) & 0xFF for i in range(n))
    label, context = sp800_108_get_key_derivation_parameters(PRIMARY, PURPOSES)
    kdf.append({
        "key": key.hex(), "primary": PRIMARY, "purposes": PURPOSES,
        "context": context.hex(),
        "derived": sp800_108_derivekey(key, label, context, n * 8).hex(),
    })

# From badsecrets' tests/aspnet_resource_test.py (line 6 of its aspnet_machinekeys.txt).
VKEY = "0074D9E5776602E629B362073918A43AD0D631800111D0453DB3416D3827C95B81F575B388A6B425E39AC49BCDC2DC8A57AD2207DC726E78544525A83AB4FE08"
EKEY = "245EDC5AAF1F32D0087178F7409370AF0A2C1FDDE1240212C73604E0DE509029"
TOKENS = [
    ("AssemblyResourceLoader.WebResourceUrl", "pynGkmcFUV13He1Qd6_TZD7cNfcANy9mBt65tolX3YDVIrXxWds2-a5ETFEwSmjGQoJw2A2"),
    ("ScriptResourceHandler.ScriptResourceUrl", "NJmAwtEo3Ipnlaxl6CMhvk5STlL2tDTDCG0e3oilid6ymxLvreNy45XCPnvXrp1sgG9OErpDERufQ_h5SXHO9Yqm3OlsG39tFrk2Mrl2rmXqAGfxWzeWnl81_ZGZKKlD6FHMYMND0ZJ4CM_LQmUmqPmDAQI1"),
    ("ScriptResourceHandler.ScriptResourceUrl", "dwY9oWetJoJoVpgL6Zq8ONBRaQwoGo6HMYY9hESGmCzrS_H_H52j-6yF9AENsNMU_-rsiefCZzjzbkZgJGLUtgu411HmojXPNThgZvWNhn-8LRenBW-cHVfYzBMZMNmxozudv_mXzKrqkWTtHOUW0iBR_yU1"),
]
dotnet = []
for primary, token in TOKENS:
    # HttpServerUtility.UrlTokenEncode: base64url, the last digit is the count of '='.
    raw = base64.urlsafe_b64decode(token[:-1] + "=" * int(token[-1]))
    label, context = sp800_108_get_key_derivation_parameters(primary, [])
    vkey = sp800_108_derivekey(binascii.unhexlify(VKEY), label, context, len(VKEY) * 4)
    ekey = sp800_108_derivekey(binascii.unhexlify(EKEY), label, context, len(EKEY) * 4)
    body, mac = raw[:-20], raw[-20:]
    assert hmac.new(vkey, body, hashlib.sha1).digest() == mac, "badsecrets' HMAC disagrees"
    clear = AES.new(ekey, AES.MODE_CBC, body[:16]).decrypt(body[16:])
    clear = clear[: -clear[-1]]
    dotnet.append({"validation": "SHA1", "validationKey": VKEY, "decryptionKey": EKEY,
                   "primary": primary, "protected": raw.hex(), "clear": clear.hex()})

json.dump({"source": "PyPI badsecrets (blacklanternsecurity)", "kdf": kdf, "dotnet45": dotnet},
          sys.stdout, indent=1)
print()
