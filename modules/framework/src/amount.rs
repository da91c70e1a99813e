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

pub fn format_coin(amount: Amount, denom: &str) -> String {
    format!("{amount}{denom}")
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn parse_coin_splits_amount_and_denom() {
        assert_eq!(parse_coin("1000uopen"), Ok((1000, "uopen".to_string())));
        assert!(parse_coin("uopen").is_err());
        assert!(parse_coin("1000").is_err());
        assert!(parse_coin("10 uopen").is_err());
    }
}
