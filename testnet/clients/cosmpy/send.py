#!/usr/bin/env python3
"""End-to-end check that unmodified cosmpy can read from and send on an OpenLedger chain.

cosmpy talks only to the app's gRPC server (or, with a rest+http:// URL, to REST), never
to CometBFT RPC.

Env:
  GRPC       cosmpy URL of the node, default grpc+http://127.0.0.1:9090
             (host:port or http://host:port are taken as grpc+http; rest+http://... selects REST)
  MNEMONIC   sender's BIP39 mnemonic (required); key at m/44'/118'/0'/0/0
  TO         recipient bech32 address, prefix "open" (required)
  CHAIN_ID   expected chain id, default openledger-dev (cosmpy signs with the configured id;
             the script checks it against the node's latest block)
  DENOM      default uopen
  GAS_PRICE  default 0.025uopen
  AMOUNT     default 12345 (in DENOM)
  TIMEOUT_S  inclusion wait, default 60

Prints one JSON line on success; on any failure prints
"cosmpy send FAILED at <step>: ..." to stderr and exits 1.
"""

import json
import math
import os
import re
import sys
from datetime import timedelta
from decimal import Decimal

PREFIX = "open"
STEP = "import cosmpy"


class Failure(Exception):
    pass


def env(name, default=None):
    value = os.environ.get(name, "").strip()
    if not value:
        if default is None:
            raise Failure(f"environment variable {name} is required")
        return default
    return value


def grpc_error_text(err):
    """A one-line description of a grpc.RpcError (code and details), else str(err)."""
    code = getattr(err, "code", None)
    details = getattr(err, "details", None)
    if callable(code) and callable(details):
        try:
            text = details() or "(no details)"
            if code().name == "UNIMPLEMENTED":
                text += "; the node does not serve this gRPC method"
            return f"gRPC {code().name}: {text}"
        except Exception:  # pylint: disable=broad-except
            pass
    return f"{type(err).__name__}: {err}"


def main():
    global STEP  # pylint: disable=global-statement

    from cosmpy.aerial.client import LedgerClient, NetworkConfig
    from cosmpy.aerial.wallet import LocalWallet
    from cosmpy.crypto.address import Address
    from cosmpy.protos.cosmos.tx.v1beta1.service_pb2 import GetTxRequest

    STEP = "config"
    url = env("GRPC", "grpc+http://127.0.0.1:9090")
    if not re.match(r"^(grpc|rest)\+https?://", url):
        url = "grpc+" + (url if url.startswith("http") else "http://" + url)
    mnemonic = env("MNEMONIC")
    to = env("TO")
    chain_id = env("CHAIN_ID", "openledger-dev")
    denom = env("DENOM", "uopen")
    gas_price_text = env("GAS_PRICE", "0.025uopen")
    m = re.fullmatch(r"([0-9]*\.?[0-9]+)([a-zA-Z][a-zA-Z0-9/:._-]*)", gas_price_text)
    if not m:
        raise Failure(f"GAS_PRICE {gas_price_text!r} is not like 0.025uopen")
    gas_price = Decimal(m.group(1))
    if m.group(2) != denom:
        raise Failure(f"GAS_PRICE denom {m.group(2)} differs from DENOM {denom}")
    amount = int(env("AMOUNT", "12345"))
    if amount <= 0:
        raise Failure("AMOUNT must be positive")
    timeout_s = float(env("TIMEOUT_S", "60"))
    if not to.startswith(PREFIX + "1"):
        raise Failure(f'TO must be a bech32 address with prefix "{PREFIX}", got {to}')

    STEP = "wallet"
    wallet = LocalWallet.from_mnemonic(mnemonic, prefix=PREFIX)
    sender = wallet.address()
    recipient = Address(to, prefix=PREFIX)
    if str(sender) == str(recipient):
        raise Failure(f"TO equals the sender {sender}; use a different recipient")

    STEP = "LedgerClient"
    cfg = NetworkConfig(
        chain_id=chain_id,
        url=url,
        fee_minimum_gas_price=float(gas_price),
        fee_denomination=denom,
        staking_denomination=denom,
    )
    client = LedgerClient(cfg, query_interval_secs=1, query_timeout_secs=int(timeout_s))

    STEP = "query_chain_id (cosmos.base.tendermint.v1beta1.Service/GetLatestBlock)"
    node_chain_id = client.query_chain_id()
    if node_chain_id != chain_id:
        raise Failure(f"node is on chain {node_chain_id!r}, CHAIN_ID is {chain_id!r}")
    STEP = "query_height (cosmos.base.tendermint.v1beta1.Service/GetLatestBlock)"
    height = client.query_height()

    STEP = "query_account (cosmos.auth.v1beta1.Query/Account)"
    account = client.query_account(sender)

    STEP = "query_bank_balance before (cosmos.bank.v1beta1.Query/Balance)"
    from_before = client.query_bank_balance(sender, denom)
    to_before = client.query_bank_balance(recipient, denom)

    # fee=None: cosmpy queries the account, simulates (Service/Simulate), clips the gas to
    # the block gas limit (cosmos.consensus.v1.Query/Params, falling back to
    # cosmos.params.v1beta1.Query/Params baseapp/BlockParams), signs and broadcasts
    # (Service/BroadcastTx, BROADCAST_MODE_SYNC).
    STEP = "send_tokens (Account, Simulate, consensus Params, BroadcastTx)"
    submitted = client.send_tokens(recipient, amount, denom, wallet, memo="openledger cosmpy e2e")
    tx_hash = submitted.tx_hash

    STEP = "wait_to_complete (cosmos.tx.v1beta1.Service/GetTx polling)"
    submitted.wait_to_complete(timeout=timedelta(seconds=timeout_s), poll_period=timedelta(seconds=0.5))
    resp = submitted.response

    # cosmpy does not return the fee it chose; read it from the included tx.
    STEP = "GetTx (fee of the included tx)"
    got = client.txs.GetTx(GetTxRequest(hash=tx_hash))
    fee_coins = list(got.tx.auth_info.fee.amount)
    if len(fee_coins) != 1 or fee_coins[0].denom != denom:
        raise Failure(f"unexpected fee in included tx: {[(c.amount, c.denom) for c in fee_coins]}")
    fee = int(fee_coins[0].amount)
    gas_limit = int(got.tx.auth_info.fee.gas_limit)
    if gas_limit != resp.gas_wanted:
        raise Failure(f"tx gas limit {gas_limit} != tx_response.gas_wanted {resp.gas_wanted}")
    expected_fee = math.ceil(Decimal(gas_limit) * gas_price)
    if fee != expected_fee:
        raise Failure(f"fee {fee}{denom} is not ceil(gas limit {gas_limit} x {gas_price_text}) = {expected_fee}{denom}")

    STEP = "query_bank_balance after (cosmos.bank.v1beta1.Query/Balance)"
    from_after = client.query_bank_balance(sender, denom)
    to_after = client.query_bank_balance(recipient, denom)

    STEP = "check balances"
    if to_after - to_before != amount:
        raise Failure(
            f"recipient balance changed by {to_after - to_before}{denom}, expected +{amount}{denom} "
            f"(before {to_before}, after {to_after})"
        )
    if from_before - from_after != amount + fee:
        raise Failure(
            f"sender balance dropped by {from_before - from_after}{denom}, expected {amount + fee}{denom} "
            f"= amount {amount} + fee {fee} (before {from_before}, after {from_after})"
        )

    print(
        json.dumps(
            {
                "client": "cosmpy",
                "ok": True,
                "chain_id": node_chain_id,
                "height": height,
                "account_number": account.number,
                "sequence": account.sequence,
                "tx_hash": tx_hash,
                "tx_height": resp.height,
                "gas_wanted": str(resp.gas_wanted),
                "gas_used": str(resp.gas_used),
                "fee": f"{fee}{denom}",
                "amount": f"{amount}{denom}",
                "from": str(sender),
                "to": str(recipient),
                "from_balance_before": str(from_before),
                "from_balance_after": str(from_after),
                "to_balance_before": str(to_before),
                "to_balance_after": str(to_after),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print(f"cosmpy send FAILED at {STEP}: {e}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # pylint: disable=broad-except
        print(f"cosmpy send FAILED at {STEP}: {grpc_error_text(e)}", file=sys.stderr)
        sys.exit(1)
