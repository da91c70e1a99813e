//! The one amount type: `u128` base units (uopen). Parsing is strict — digits only —
//! so every node and client reads the same string as the same number.

pub type Amount = u128;

/// Parse a non-negative integer amount written as decimal digits.
pub fn parse_amount(s: &str) -> Result<Amount, String> {
    if s.is_empty() {
        return Err("empty amount".into());
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("amount {s:?} is not a non-negative integer"));
    }
    s.parse::<u128>().map_err(|_| format!("amount {s:?} is too large"))
}

/// Parse a coin string such as `1000uopen` into (amount, denom).
pub fn parse_coin(s: &str) -> Result<(Amount, String), String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| format!("coin {s:?} has no denom"))?;
    let (amount, denom) = s.split_at(split);
    let amount = parse_amount(amount).map_err(|e| format!("coin {s:?}: {e}"))?;
    if denom.is_empty() || !denom.chars().all(|c| c.is_ascii_alphanumeric() || c == '/') {
        return Err(format!("coin {s:?} has an invalid denom"));
    }
    Ok((amount, denom.to_string()))
}

/// 10^18: the scale of fixed-point decimals (gas prices, gas adjustments).
pub const DECIMAL_ONE: u128 = 1_000_000_000_000_000_000;

/// Parse a non-negative decimal such as `0.025` or `1.3` into units of 10^-18 (no floats).
pub fn parse_decimal(s: &str) -> Result<u128, String> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) || frac.len() > 18 {
        return Err(format!("{s:?} is not a non-negative decimal number (at most 18 decimals)"));
    }
    let int: u128 = if int.is_empty() { 0 } else { int.parse().map_err(|_| format!("{s:?} is too large"))? };
    let frac: u128 = format!("{frac:0<18}").parse().map_err(|_| format!("{s:?} is invalid"))?;
    int.checked_mul(DECIMAL_ONE).and_then(|v| v.checked_add(frac)).ok_or_else(|| format!("{s:?} is too large"))
}

/// Parse a gas price like `0.025uopen` into 10^-18 `denom` per gas.
pub fn parse_gas_price(s: &str, denom: &str) -> Result<u128, String> {
    let s = s.trim();
    let num = s.strip_suffix(denom).ok_or_else(|| format!("gas price {s:?} must be in {denom}, e.g. 0.025{denom}"))?;
    parse_decimal(num).map_err(|e| format!("gas price: {e}"))
}

/// ceil(gas × price) for a fixed-point price (10^-18 units): the fee a gas limit costs.
pub fn fee_for_gas(gas: u64, price: u128) -> u128 {
    (gas as u128).saturating_mul(price).div_ceil(DECIMAL_ONE)
}

/// Basis points in a whole.
pub const BPS: u128 = 10_000;

/// ⌊amount × bps / 10,000⌋, exact and without overflow for any amount (bps ≤ 10,000).
pub fn bps_of(amount: Amount, bps: u32) -> Amount {
    let bps = u128::from(bps).min(BPS);
    (amount / BPS) * bps + (amount % BPS) * bps / BPS
}

pub fn format_coin(amount: Amount, denom: &str) -> String {
    format!("{amount}{denom}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bps_of_is_the_exact_floor_without_overflow() {
        assert_eq!(bps_of(10_000, 2000), 2000);
        assert_eq!(bps_of(9_999, 5000), 4999);
        assert_eq!(bps_of(1, 9999), 0);
        assert_eq!(bps_of(u128::MAX, 10_000), u128::MAX);
        assert_eq!(bps_of(u128::MAX, 5000), u128::MAX / 2);
        for a in [0u128, 1, 7, 12_345, 99_999_999] {
            for b in [0u32, 1, 2500, 9999, 10_000] {
                assert_eq!(bps_of(a, b), a * u128::from(b) / 10_000);
            }
        }
    }

    #[test]
    fn parse_amount_rejects_signs_decimals_and_overflow() {
        assert_eq!(parse_amount("0"), Ok(0));
        assert_eq!(parse_amount("340282366920938463463374607431768211455"), Ok(u128::MAX));
        assert!(parse_amount("340282366920938463463374607431768211456").is_err());
        assert!(parse_amount("-1").is_err());
        assert!(parse_amount("+1").is_err());
        assert!(parse_amount("1.5").is_err());
        assert!(parse_amount("").is_err());
    }

    #[test]
    fn gas_prices_are_fixed_point_and_fees_round_up() {
        assert_eq!(parse_gas_price("0.025uopen", "uopen"), Ok(25_000_000_000_000_000));
        assert_eq!(parse_gas_price("1uopen", "uopen"), Ok(DECIMAL_ONE));
        assert!(parse_gas_price("0.025atom", "uopen").is_err());
        assert!(parse_gas_price("-1uopen", "uopen").is_err());
        assert!(parse_gas_price("uopen", "uopen").is_err());
        assert!(parse_decimal("1.0000000000000000001").is_err());
        assert_eq!(parse_decimal("1.3"), Ok(1_300_000_000_000_000_000));
        let p = parse_gas_price("0.025uopen", "uopen").unwrap();
        assert_eq!(fee_for_gas(200_000, p), 5000);
        assert_eq!(fee_for_gas(1, p), 1);
        assert_eq!(fee_for_gas(0, p), 0);
    }

    #[test]
    fn parse_coin_splits_amount_and_denom() {
        assert_eq!(parse_coin("1000uopen"), Ok((1000, "uopen".to_string())));
        assert!(parse_coin("uopen").is_err());
        assert!(parse_coin("1000").is_err());
        assert!(parse_coin("10 uopen").is_err());
    }
}
