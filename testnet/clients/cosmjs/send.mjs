// End-to-end check that unmodified CosmJS (@cosmjs/stargate + @cosmjs/proto-signing)
// can read from and send on an OpenLedger chain through CometBFT RPC only.
//
// Env: RPC (CometBFT RPC URL, default http://127.0.0.1:26657), MNEMONIC (sender, required),
// TO (recipient bech32 "open1...", required), DENOM (default uopen),
// GAS_PRICE (default 0.025uopen), AMOUNT (default 12345, in DENOM),
// TIMEOUT_MS (inclusion wait, default 60000).
//
// Prints one JSON line on success; on any failure prints "cosmjs send FAILED at <step>: ..."
// to stderr and exits 1.

import { DirectSecp256k1HdWallet, decodeTxRaw } from "@cosmjs/proto-signing";
import {
  GasPrice,
  SigningStargateClient,
  calculateFee,
  StargateClient,
  isDeliverTxFailure,
} from "@cosmjs/stargate";
import { stringToPath } from "@cosmjs/crypto";

const PREFIX = "open";
const HD_PATH = "m/44'/118'/0'/0/0";

let step = "config";

function fail(message) {
  throw new Error(message);
}

function env(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v.trim() === "") {
    if (fallback === undefined) fail(`environment variable ${name} is required`);
    return fallback;
  }
  return v.trim();
}

function balanceOf(coin, denom) {
  if (coin.denom !== denom) fail(`balance query returned denom ${coin.denom}, expected ${denom}`);
  return BigInt(coin.amount);
}

async function main() {
  const rpc = env("RPC", "http://127.0.0.1:26657");
  const mnemonic = env("MNEMONIC");
  const to = env("TO");
  const denom = env("DENOM", "uopen");
  const gasPrice = GasPrice.fromString(env("GAS_PRICE", "0.025uopen"));
  const amount = BigInt(env("AMOUNT", "12345"));
  const timeoutMs = Number(env("TIMEOUT_MS", "60000"));
  if (amount <= 0n) fail("AMOUNT must be positive");
  if (gasPrice.denom !== denom) fail(`GAS_PRICE denom ${gasPrice.denom} differs from DENOM ${denom}`);
  if (!to.startsWith(`${PREFIX}1`)) fail(`TO must be a bech32 address with prefix "${PREFIX}", got ${to}`);

  step = "wallet";
  const wallet = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic, {
    prefix: PREFIX,
    hdPaths: [stringToPath(HD_PATH)],
  });
  const [{ address: from }] = await wallet.getAccounts();
  if (from === to) fail(`TO equals the sender ${from}; use a different recipient`);

  // Read-only client: status (chain id, height) and queries.
  step = "StargateClient.connect (RPC status)";
  const reader = await StargateClient.connect(rpc);
  step = "getChainId (RPC status)";
  const chainId = await reader.getChainId();
  step = "getHeight (RPC status)";
  const height = await reader.getHeight();

  step = "getAccount (abci_query /cosmos.auth.v1beta1.Query/Account)";
  const account = await reader.getAccount(from);
  if (!account) fail(`sender account ${from} does not exist on chain (fund it first)`);

  step = "getBalance before (abci_query /cosmos.bank.v1beta1.Query/Balance)";
  const fromBefore = balanceOf(await reader.getBalance(from, denom), denom);
  const toBefore = balanceOf(await reader.getBalance(to, denom), denom);

  step = "SigningStargateClient.connectWithSigner (RPC status)";
  const signer = await SigningStargateClient.connectWithSigner(rpc, wallet, {
    gasPrice,
    broadcastTimeoutMs: timeoutMs,
    broadcastPollIntervalMs: 500,
  });

  // fee "auto": simulate (abci_query /cosmos.tx.v1beta1.Service/Simulate), sign,
  // broadcast_tx_sync, then poll tx_search tx.hash='...' until included.
  step = "sendTokens fee=auto (simulate, broadcast_tx_sync, tx_search)";
  const result = await signer.sendTokens(
    from,
    to,
    [{ denom, amount: amount.toString() }],
    "auto",
    "openledger cosmjs e2e",
  );
  if (isDeliverTxFailure(result)) {
    fail(`tx ${result.transactionHash} failed at height ${result.height}: code ${result.code}: ${result.rawLog}`);
  }

  // The fee "auto" chose is not returned; read it back from the included tx.
  step = "getTx (RPC tx_search tx.hash)";
  const included = await reader.getTx(result.transactionHash);
  if (!included) fail(`tx ${result.transactionHash} not found by tx_search after inclusion`);
  if (included.height !== result.height) {
    fail(`getTx height ${included.height} != broadcast result height ${result.height}`);
  }
  const decoded = decodeTxRaw(included.tx);
  const feeCoins = decoded.authInfo.fee?.amount ?? [];
  if (feeCoins.length !== 1 || feeCoins[0].denom !== denom) {
    fail(`unexpected fee in included tx: ${JSON.stringify(feeCoins)}`);
  }
  const fee = BigInt(feeCoins[0].amount);
  const gasLimit = BigInt(decoded.authInfo.fee.gasLimit.toString());
  const expectedFee = BigInt(calculateFee(Number(gasLimit), gasPrice).amount[0].amount);
  if (fee !== expectedFee) {
    fail(`fee ${fee}${denom} is not ceil(gas limit ${gasLimit} x gas price) = ${expectedFee}${denom}`);
  }

  step = "getBalance after (abci_query /cosmos.bank.v1beta1.Query/Balance)";
  const fromAfter = balanceOf(await reader.getBalance(from, denom), denom);
  const toAfter = balanceOf(await reader.getBalance(to, denom), denom);

  step = "check balances";
  if (toAfter - toBefore !== amount) {
    fail(`recipient balance changed by ${toAfter - toBefore}${denom}, expected +${amount}${denom} (before ${toBefore}, after ${toAfter})`);
  }
  if (fromBefore - fromAfter !== amount + fee) {
    fail(`sender balance dropped by ${fromBefore - fromAfter}${denom}, expected ${amount + fee}${denom} = amount ${amount} + fee ${fee} (before ${fromBefore}, after ${fromAfter})`);
  }

  reader.disconnect();
  signer.disconnect();

  console.log(
    JSON.stringify({
      client: "cosmjs",
      ok: true,
      chain_id: chainId,
      height,
      account_number: account.accountNumber,
      sequence: account.sequence,
      tx_hash: result.transactionHash,
      tx_height: result.height,
      gas_wanted: result.gasWanted.toString(),
      gas_used: result.gasUsed.toString(),
      fee: `${fee}${denom}`,
      amount: `${amount}${denom}`,
      from,
      to,
      from_balance_before: fromBefore.toString(),
      from_balance_after: fromAfter.toString(),
      to_balance_before: toBefore.toString(),
      to_balance_after: toAfter.toString(),
    }),
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    const msg = err && err.message ? err.message : String(err);
    console.error(`cosmjs send FAILED at ${step}: ${msg}`);
    process.exit(1);
  },
);
