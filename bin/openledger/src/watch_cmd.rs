//! `openledger watch`: follow the node's block stream (`openledger.stream.v1.StreamService`)
//! and print one line per event:
//!
//! ```text
//! HEIGHT TXINDEX|block EVENT_TYPE key=value ...
//! ```
//!
//! or, with `-o json`, one JSON object per event. After printing every event of a height
//! it records that height in a state file, and a restart resumes at the next height:
//! nothing is printed twice and nothing is skipped (a kill in the instant between printing
//! a height and recording it prints that height again: consumers that must be exact
//! dedupe by height). A dropped connection is retried from the same place.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use futures::StreamExt;
use openledger_client::output::Format;
use openledger_proto::openledger::stream::v1 as pb;
use serde_json::{json, Value};
use tonic::transport::Channel;

use crate::broadcast::status_error;
use crate::NodeOpts;

#[derive(Args, Clone, Debug)]
pub struct WatchArgs {
    /// First height to print. Default: the height after the last one printed (from the
    /// state file), else the chain's latest block.
    #[arg(long = "from", value_name = "HEIGHT")]
    pub from: Option<u64>,
    /// Print only events of this type (filtered by the node).
    #[arg(long = "type", value_name = "EVENT")]
    pub event_type: Option<String>,
    /// Print only events with this attribute: KEY=VALUE, or KEY for any value. Repeat to
    /// require several (on the same event). Needs --type.
    #[arg(long = "attr", value_name = "KEY=VALUE", requires = "event_type")]
    pub attrs: Vec<String>,
    /// The file recording the last height printed.
    /// Default: $OPENLEDGER_HOME/watch.state (~/.openledger/watch.state).
    #[arg(long = "state", value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Exit after printing this height (default: follow the chain forever).
    #[arg(long = "until", value_name = "HEIGHT")]
    pub until: Option<u64>,
}

/// Largest block record accepted from the node.
const MAX_RECORD_BYTES: usize = 256 << 20;

fn default_state_file() -> PathBuf {
    let home = std::env::var_os("OPENLEDGER_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".")).join(".openledger"));
    home.join("watch.state")
}

/// The state file: the endpoint and the last height fully printed.
fn read_state(path: &Path) -> Result<Option<(String, u64)>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let v: Value = serde_json::from_str(&text).with_context(|| format!("{} is not a watch state file", path.display()))?;
    let height = v["height"].as_u64().ok_or_else(|| anyhow!("{} has no height", path.display()))?;
    Ok(Some((v["grpc"].as_str().unwrap_or_default().to_string(), height)))
}

fn write_state(path: &Path, grpc: &str, height: u64) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{}\n", json!({"grpc": grpc, "height": height}))).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

fn parse_attr(s: &str) -> Result<pb::AttributeMatch> {
    let (key, value) = s.split_once('=').unwrap_or((s, ""));
    if key.is_empty() {
        bail!("invalid --attr {s:?}: KEY=VALUE or KEY");
    }
    Ok(pb::AttributeMatch { key: key.to_string(), value: value.to_string() })
}

/// RFC 3339 UTC time of a protobuf timestamp (as CometBFT prints block times).
pub fn rfc3339(t: &prost_types::Timestamp) -> String {
    let secs = t.seconds;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let nanos = if t.nanos > 0 { format!(".{:09}", t.nanos).trim_end_matches('0').to_string() } else { String::new() };
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{nanos}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `value` as printed in a text line: bare when it is one plain word, else JSON-quoted.
fn text_value(v: &str) -> String {
    if !v.is_empty() && !v.chars().any(|c| c.is_whitespace() || c == '"' || c.is_control()) {
        v.to_string()
    } else {
        Value::String(v.to_string()).to_string()
    }
}

/// The lines of one block record, in order: each tx's events, then the block's.
pub fn record_lines(rec: &pb::BlockRecord, format: Format) -> Vec<String> {
    let time = rec.time.as_ref().map(rfc3339).unwrap_or_default();
    let mut lines = Vec::new();
    let mut push = |tx: Option<&pb::TxRecord>, e: &pb::Event| {
        let line = match format {
            Format::Text => {
                let mut l = format!("{} {} {}", rec.height, tx.map_or("block".to_string(), |t| t.index.to_string()), e.r#type);
                for a in &e.attributes {
                    l.push(' ');
                    l.push_str(&text_value(&a.key));
                    l.push('=');
                    l.push_str(&text_value(&a.value));
                }
                l
            }
            Format::Json => json!({
                "height": rec.height,
                "time": time,
                "tx_index": tx.map(|t| t.index),
                "tx_hash": tx.map(|t| hex::encode_upper(&t.hash)),
                "code": tx.map(|t| t.code),
                "type": e.r#type,
                "attributes": e.attributes.iter().map(|a| json!({"key": a.key, "value": a.value, "index": a.index})).collect::<Vec<_>>(),
            })
            .to_string(),
        };
        lines.push(line);
    };
    for t in &rec.txs {
        for e in &t.events {
            push(Some(t), e);
        }
    }
    for e in &rec.block_events {
        push(None, e);
    }
    lines
}

enum StreamEnd {
    /// `--until` reached.
    Done,
    /// The connection broke: retry from the next height.
    Retry(String),
}

pub async fn watch(node: &NodeOpts, args: WatchArgs) -> Result<()> {
    let format = Format::parse(&node.output)?;
    let attrs = args.attrs.iter().map(|a| parse_attr(a)).collect::<Result<Vec<_>>>()?;
    let state_path = args.state.clone().unwrap_or_else(default_state_file);
    if let Some(dir) = state_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut next = match args.from {
        Some(h) => h,
        None => match read_state(&state_path)? {
            Some((grpc, last)) if grpc == node.grpc => last.saturating_add(1),
            Some((grpc, _)) => {
                eprintln!("note: {} records a stream of {grpc}, not {}: starting at the latest block", state_path.display(), node.grpc);
                0
            }
            None => 0,
        },
    };
    if args.until.is_some_and(|u| next != 0 && u < next) {
        return Ok(());
    }
    let mut connected_once = false;
    let mut backoff = Duration::from_millis(250);
    loop {
        let channel =
            match Channel::from_shared(node.grpc.clone()).map_err(|e| anyhow!("invalid --grpc {:?}: {e}", node.grpc))?.connect().await {
                Ok(c) => c,
                Err(e) if connected_once => {
                    eprintln!("watch: cannot reach {} ({e}); retrying from height {next}", node.grpc);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
                Err(e) => return Err(anyhow!("cannot reach gRPC at {} (is openledgerd running? see --grpc): {e}", node.grpc)),
            };
        connected_once = true;
        let mut client = pb::stream_service_client::StreamServiceClient::new(channel).max_decoding_message_size(MAX_RECORD_BYTES);
        let response = match &args.event_type {
            None => client.blocks(pb::BlocksRequest { start_height: next }).await,
            Some(t) => {
                client
                    .filtered_blocks(pb::FilteredBlocksRequest { start_height: next, event_type: t.clone(), attributes: attrs.clone() })
                    .await
            }
        };
        let stream = match response {
            Ok(r) => r.into_inner(),
            Err(s) if s.code() == tonic::Code::Unavailable => {
                eprintln!("watch: {}; retrying from height {next}", s.message());
                tokio::time::sleep(backoff).await;
                continue;
            }
            Err(s) => return Err(status_error(s)),
        };
        match print_stream(stream, &mut next, format, &state_path, &node.grpc, args.until).await? {
            StreamEnd::Done => return Ok(()),
            StreamEnd::Retry(why) => {
                eprintln!("watch: {why}; resuming from height {next}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn print_stream(
    mut stream: tonic::Streaming<pb::BlockRecord>,
    next: &mut u64,
    format: Format,
    state_path: &Path,
    grpc: &str,
    until: Option<u64>,
) -> Result<StreamEnd> {
    let mut out = std::io::stdout().lock();
    loop {
        let rec = match stream.next().await {
            None => return Ok(StreamEnd::Retry("the node closed the stream".into())),
            Some(Ok(rec)) => rec,
            // The connection broke or the node is restarting: resume. Anything else (a
            // height no longer retained, a bad filter) is for the user.
            Some(Err(s)) => match s.code() {
                tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled => {
                    return Ok(StreamEnd::Retry(s.message().to_string()))
                }
                _ => return Err(status_error(s)),
            },
        };
        // A resumed stream starts exactly at `next`; anything else is the node's bug.
        if *next != 0 && rec.height != *next {
            bail!("the node sent height {} where {} was expected", rec.height, next);
        }
        let mut text = String::new();
        for line in record_lines(&rec, format) {
            text.push_str(&line);
            text.push('\n');
        }
        if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(StreamEnd::Done);
            }
            return Err(e.into());
        }
        write_state(state_path, grpc, rec.height)?;
        *next = rec.height.saturating_add(1);
        if until.is_some_and(|u| rec.height >= u) {
            return Ok(StreamEnd::Done);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        let t = |seconds, nanos| rfc3339(&prost_types::Timestamp { seconds, nanos });
        assert_eq!(t(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(t(1_700_000_001, 0), "2023-11-14T22:13:21Z");
        assert_eq!(t(951_782_400, 500_000_000), "2000-02-29T00:00:00.5Z");
        assert_eq!(t(1_709_251_199, 123), "2024-02-29T23:59:59.000000123Z");
    }

    #[test]
    fn lines_per_event() {
        let ev = |t: &str, kv: &[(&str, &str)]| pb::Event {
            r#type: t.into(),
            attributes: kv.iter().map(|(k, v)| pb::EventAttribute { key: (*k).into(), value: (*v).into(), index: true }).collect(),
        };
        let rec = pb::BlockRecord {
            height: 7,
            time: Some(prost_types::Timestamp { seconds: 0, nanos: 0 }),
            txs: vec![pb::TxRecord {
                index: 2,
                hash: vec![0xab; 32],
                events: vec![ev("transfer", &[("amount", "5uopen"), ("memo", "a b")])],
                ..Default::default()
            }],
            block_events: vec![ev("openledger.token.v1.EventFeesDistributed", &[("power", "10")])],
            ..Default::default()
        };
        let text = record_lines(&rec, Format::Text);
        assert_eq!(text, vec!["7 2 transfer amount=5uopen memo=\"a b\"", "7 block openledger.token.v1.EventFeesDistributed power=10"]);
        let json = record_lines(&rec, Format::Json);
        let v: Value = serde_json::from_str(&json[0]).expect("json");
        assert_eq!(v["height"], 7);
        assert_eq!(v["tx_index"], 2);
        assert_eq!(v["tx_hash"], "AB".repeat(32));
        assert_eq!(v["attributes"][1]["value"], "a b");
        let b: Value = serde_json::from_str(&json[1]).expect("json");
        assert!(b["tx_index"].is_null());
    }

    #[test]
    fn attr_syntax() {
        assert_eq!(parse_attr("k=v=w").map(|a| (a.key, a.value)).ok(), Some(("k".into(), "v=w".into())));
        assert_eq!(parse_attr("k").map(|a| (a.key, a.value)).ok(), Some(("k".into(), String::new())));
        assert!(parse_attr("=v").is_err());
    }
}
